"""The transcript stage: one session's upload -> stored Transcript."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path

from pipeline.errors import PermanentError
from pipeline.memo import sha256_hex
from pipeline.models import SessionState, Transcript, UsageCost, utcnow
from pipeline.providers.speech_to_text import SpeechResult, transcribe_audio
from pipeline.services import Services, transcript_key
from pipeline.tracking import tracked
from pipeline.uploads import TEXT_NAME, SessionUpload, load_session, read_manifest, split_key, validate_id

log = logging.getLogger(__name__)


def locate_upload(services: Services, session_id: str) -> SessionUpload:
    """Find a session's upload folder, from the status registry or, for unregistered ids, a listing."""
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
    deleted_at = _audio_deleted_at(services, session_id)
    if deleted_at is not None:
        raise PermanentError(
            f"audio was deleted after transcription (at {deleted_at.isoformat()}, AUDIO_RETENTION="
            "delete_after_transcription): the transcript cannot be recomputed; backfill insights and "
            "pattern_profile instead, which read the stored transcript",
            session_id=session_id,
        )
    where = services.uploads.describe(f"{learner_ids[0]}/{session_id}/") if learner_ids else "the uploads"
    raise PermanentError(
        f"no audio.<wav|flac|ogg|webm|mp3|m4a> or {TEXT_NAME} found for session {session_id} in {where}",
        session_id=session_id,
    )


def _audio_deleted_at(services: Services, session_id: str) -> datetime | None:
    try:
        return services.results.read_model(transcript_key(session_id), Transcript).audio_deleted_at
    except FileNotFoundError:
        return None


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
    cached = services.memo.get("transcript", memo_key)
    if cached is not None:
        log.info("session %s: reusing the stored %s/%s transcription", session_id, stt.name, stt.model)
        return SpeechResult(
            cached["text"], cached["duration_seconds"], UsageCost.model_validate(cached["usage"])
        )
    # Chunks already paid for in a failed attempt are reused: a retry pays only for the rest.
    chunks = services.memo.stage("transcript_chunks")
    result = transcribe_audio(stt, audio, language=language, chunk_cache=chunks)
    if not result.text.strip():
        raise PermanentError(f"no speech was recognised in the audio of session {session_id}")
    services.memo.put(
        "transcript",
        memo_key,
        {
            "text": result.text,
            "duration_seconds": result.duration_seconds,
            "usage": result.usage.model_dump(),
        },
    )
    return result


def _empty(name: str, session_id: str) -> PermanentError:
    return PermanentError(f"{name} of session {session_id} is empty (0 bytes)")


def transcribe_session(services: Services, session_id: str) -> Transcript:
    """Transcribe (or take the uploaded text of) one session and store the Transcript document."""
    with tracked(services.status, session_id, SessionState.TRANSCRIBING):
        upload = locate_upload(services, session_id)
        media = upload.media
        assert media is not None
        manifest = read_manifest(services.uploads, upload)
        recorded_at = manifest.recorded_at or datetime.fromtimestamp(media.modified, UTC)
        services.status.set_state(
            session_id, SessionState.TRANSCRIBING, learner_id=upload.learner_id, recorded_at=recorded_at
        )
        name = media.key.rsplit("/", 1)[-1]
        if name == TEXT_NAME:
            raw = services.uploads.read_bytes(media.key)
            if not raw:
                raise _empty(name, session_id)
            digest = sha256_hex(raw)
            text, source, duration = _decode_text(raw, session_id), "text", None
            provider, model, usage = "upload", TEXT_NAME, UsageCost()
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
            usage=usage,
        )
        services.results.write_model(transcript_key(session_id), transcript)
        if source == "audio" and services.audio_retention == "delete_after_transcription":
            # The transcript is stored first, so a crash here loses no data, only delays the deletion.
            services.uploads.delete(media.key)
            transcript = transcript.model_copy(update={"audio_deleted_at": utcnow()})
            services.results.write_model(transcript_key(session_id), transcript)
        return transcript
