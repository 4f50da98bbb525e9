"""The transcript stage: one session's upload -> stored Transcript."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pipeline.domain.documents import transcript_key
from pipeline.domain.errors import PermanentError
from pipeline.domain.ids import validate_id
from pipeline.domain.models import (
    SessionState,
    Transcript,
    TranscriptQuality,
    TranscriptSegment,
    UsageCost,
    utcnow,
)
from pipeline.domain.quality import quality_flags
from pipeline.intake.contract import (
    TEXT_NAME,
    SessionUpload,
    load_session,
    read_manifest,
    split_key,
)
from pipeline.providers.memo import sha256_hex
from pipeline.providers.speech_to_text import SpeechResult, transcribe_audio
from pipeline.stages import lifecycle
from pipeline.stages.services import Services

log = logging.getLogger(__name__)


def find_upload(services: Services, session_id: str) -> SessionUpload | None:
    """A session's upload folder with its media, from the registry or, for unregistered ids, a listing."""
    validate_id(session_id)
    registered = services.status.get(session_id)
    learner_ids = [registered.learner_id] if registered and registered.learner_id else []
    if not learner_ids:
        learner_ids = sorted(
            {
                parts[0]
                for info in services.uploads.list()
                if (parts := split_key(info.key)) and parts[1] == session_id
            }
        )
    for learner_id in learner_ids:
        upload = load_session(services.uploads, learner_id, session_id)
        if upload is not None and upload.media is not None:
            return upload
    return None


def _missing_media(services: Services, session_id: str, stored: Transcript | None) -> PermanentError:
    if stored is not None and stored.audio_deleted_at is not None:
        return PermanentError(
            f"audio was deleted after transcription (at {stored.audio_deleted_at.isoformat()}, AUDIO_RETENTION="
            "delete_after_transcription) and the stored transcript was made by "
            f"{stored.provider}/{stored.model}, not the configured {services.speech_to_text.name}/"
            f"{services.speech_to_text.model}: it cannot be recomputed; backfill insights and pattern_profile "
            "instead, which read the stored transcript",
            session_id=session_id,
        )
    registered = services.status.get(session_id)
    where = (
        services.uploads.describe(f"{registered.learner_id}/{session_id}/")
        if registered and registered.learner_id
        else "the uploads"
    )
    return PermanentError(
        f"no audio.<wav|flac|ogg|webm|mp3|m4a> or {TEXT_NAME} found for session {session_id} in {where}",
        session_id=session_id,
    )


def _reusable(services: Services, stored: Transcript, upload: SessionUpload | None) -> bool:
    """Whether ``stored`` already stands for the session's current media under the current provider plan.

    Decided from metadata only (the listing's ETag or size and mtime, and the content hash the
    sensor registered), so a re-execution after a crash, or after the audio was deleted by the
    retention policy, needs no media and pays nothing; a re-upload with other bytes (even with the
    old size and mtime) is never mistaken for the stored one.
    """
    stt = services.speech_to_text
    if stored.source == "audio" and (stored.provider, stored.model) != (stt.name, stt.model):
        return False
    if upload is None or upload.media is None:
        return stored.audio_deleted_at is not None  # deleted by retention, nothing uploaded since
    if (stored.source == "text") != upload.media.key.endswith(TEXT_NAME):
        return False
    registered = services.status.get(stored.session_id)
    expected = registered.upload_version if registered else None
    if expected and expected.startswith("sha256:") and not upload.media.etag:
        return stored.input_sha256 == expected.removeprefix("sha256:")
    return stored.input_version == upload.media.version


def _result_version(transcript: Transcript) -> str:
    """The content version (as the sensor names it) of the media a transcript was made from."""
    if transcript.input_version and transcript.input_version.startswith("etag:"):
        return transcript.input_version
    return f"sha256:{transcript.input_sha256}"


def _decode_text(raw: bytes, session_id: str) -> str:
    try:
        text = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError as exc:
        raise PermanentError(
            f"{TEXT_NAME} of session {session_id} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save it as UTF-8 and upload it again",
            session_id=session_id,
        ) from exc
    if not text:
        raise PermanentError(f"{TEXT_NAME} of session {session_id} is empty", session_id=session_id)
    return text


def _speech(services: Services, session_id: str, audio: Path, digest: str, language: str) -> SpeechResult:
    stt = services.speech_to_text
    memo_key = services.memo.key(digest, stt.name, stt.model, language)
    with services.memo.lock("transcript", memo_key):  # a same-audio session in another thread waits
        return _speech_once(services, session_id, audio, language, memo_key)


def _speech_once(
    services: Services, session_id: str, audio: Path, language: str, memo_key: str
) -> SpeechResult:
    stt = services.speech_to_text
    cached = services.memo.get("transcript", memo_key)
    if cached is not None:
        log.info("session %s: reusing the stored %s/%s transcription", session_id, stt.name, stt.model)
        quality = cached.get("quality")
        return SpeechResult(
            cached["text"],
            cached["duration_seconds"],
            UsageCost.model_validate(cached["usage"]),
            tuple(TranscriptSegment.model_validate(s) for s in cached.get("segments", [])),
            TranscriptQuality.model_validate(quality) if quality else None,
        )
    # Chunks already paid for in a failed attempt are reused: a retry pays only for the rest.
    chunks = services.memo.stage("transcript_chunks")
    with services.provider_slot(stt.name):
        result = services.breaker(stt.name).call(
            lambda: transcribe_audio(stt, audio, language=language, chunk_cache=chunks)
        )
    if not result.text.strip():
        flags = quality_flags(result.quality)
        raise PermanentError(
            f"no speech was recognised in the audio of session {session_id} "
            f"({result.duration_seconds:.1f} s decoded{': ' + '; '.join(flags) if flags else ''}): "
            "check that the recording has audible speech and was uploaded completely",
            session_id=session_id,
        )
    services.memo.put(
        "transcript",
        memo_key,
        {
            "text": result.text,
            "duration_seconds": result.duration_seconds,
            "usage": result.usage.model_dump(),
            "segments": [s.model_dump() for s in result.segments],
            "quality": result.quality.model_dump() if result.quality else None,
        },
    )
    return result


def _empty(name: str, session_id: str) -> PermanentError:
    return PermanentError(f"{name} of session {session_id} is empty (0 bytes)")


def transcribe_session(services: Services, session_id: str) -> Transcript:
    """Transcribe (or take the uploaded text of) one session and store the Transcript document.

    A transcript already stored for the same media and provider plan is returned as it is.
    """
    validate_id(session_id)
    with lifecycle.tracked(services.status, session_id, SessionState.TRANSCRIBING, services.run_id):
        stored = services.stored_result(session_id, transcript_key(session_id), Transcript, "transcript")
        upload = find_upload(services, session_id)
        if stored is not None and _reusable(services, stored, upload):
            log.info("session %s: the stored transcript stands for the current upload", session_id)
            lifecycle.identify(
                services.status,
                session_id,
                learner_id=stored.learner_id,
                recorded_at=stored.recorded_at,
                run_id=services.run_id,
            )
            services.status.save_result_version(
                session_id, _result_version(stored), word_count=stored.word_count
            )
            return stored
        if upload is None or upload.media is None:
            raise _missing_media(services, session_id, stored)
        transcript = _transcribe(services, session_id, upload)
        services.status.save_result_version(
            session_id, _result_version(transcript), word_count=transcript.word_count
        )
        return transcript


def _transcribe(services: Services, session_id: str, upload: SessionUpload) -> Transcript:
    media = upload.media
    assert media is not None
    manifest = read_manifest(services.uploads, upload)
    recorded_at = manifest.recorded_at or datetime.fromtimestamp(media.modified, UTC)
    lifecycle.identify(
        services.status,
        session_id,
        learner_id=upload.learner_id,
        recorded_at=recorded_at,
        run_id=services.run_id,
    )
    source: Literal["audio", "text"]
    name = media.key.rsplit("/", 1)[-1]
    if name == TEXT_NAME:
        raw = services.uploads.read_bytes(media.key)
        if not raw:
            raise _empty(name, session_id)
        digest = sha256_hex(raw)
        text, source, duration = _decode_text(raw, session_id), "text", None
        provider, model, usage = "upload", TEXT_NAME, UsageCost()
        segments, quality = [], None
    else:
        # One local copy serves both the hash and the recognizer (on S3, one download, not two).
        with services.uploads.local_file(media.key) as path:
            with path.open("rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
            if path.stat().st_size == 0:
                raise _empty(name, session_id)
            speech = _speech(services, session_id, path, digest, manifest.language)
        text, source, duration = speech.text.strip(), "audio", speech.duration_seconds
        provider, model, usage = services.speech_to_text.name, services.speech_to_text.model, speech.usage
        segments, quality = list(speech.segments), speech.quality
    words = len(text.split())
    transcript = Transcript(
        session_id=session_id,
        learner_id=upload.learner_id,
        text=text,
        source=source,
        language=manifest.language,
        topic=manifest.topic,
        recorded_at=recorded_at,
        duration_seconds=duration,
        word_count=words,
        words_per_minute=round(words / (duration / 60), 1) if duration else None,
        provider=provider,
        model=model,
        input_sha256=digest,
        input_version=media.version,
        usage=usage,
        segments=segments,
        quality=quality,
    )
    services.results.write_model(transcript_key(session_id), transcript)
    if source == "audio" and services.audio_retention == "delete_after_transcription":
        # The transcript is stored first, so a crash here loses no data, only delays the deletion.
        services.uploads.delete(media.key)
        transcript = transcript.model_copy(update={"audio_deleted_at": utcnow()})
        services.results.write_model(transcript_key(session_id), transcript)
    return transcript
