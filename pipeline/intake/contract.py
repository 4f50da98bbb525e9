"""The upload contract: where sessions live, what a folder holds, and when one is ready.

``$UPLOADS_URI/<learner_id>/<session_id>/audio.<ext> | transcript.txt [+ session.json]``.
A session is ready once its media is there and either ``session.json`` (the client's commit marker,
uploaded last) is no older than the media, or the media has not changed for a quiet period, so a half-written upload is
never picked up. A session is identified by its folder and its media's content version, never by
timestamps (see ``pipeline.intake.discovery``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError

from pipeline.domain.errors import PermanentError
from pipeline.domain.ids import shown, validate_id
from pipeline.domain.models import SessionManifest
from pipeline.storage import ObjectInfo, Storage

AUDIO_EXTENSIONS = ("wav", "flac", "ogg", "webm", "mp3", "m4a")
TEXT_NAME = "transcript.txt"
MANIFEST_NAME = "session.json"
MEDIA_NAMES = (TEXT_NAME, *(f"audio.{ext}" for ext in AUDIO_EXTENSIONS))
#: A manifest holds three short fields; anything bigger is not one (and is never parsed).
MAX_MANIFEST_BYTES = 64 * 1024


@dataclass(frozen=True)
class SessionUpload:
    """One session folder as listed: its files by name."""

    learner_id: str
    session_id: str
    files: dict[str, ObjectInfo] = field(hash=False)

    @property
    def prefix(self) -> str:
        return f"{self.learner_id}/{self.session_id}" if self.learner_id else self.session_id

    @property
    def media(self) -> ObjectInfo | None:
        """The transcript text if uploaded, else the first audio file in a fixed order of preference."""
        for name in MEDIA_NAMES:
            if name in self.files:
                return self.files[name]
        return None

    @property
    def manifest(self) -> ObjectInfo | None:
        return self.files.get(MANIFEST_NAME)

    @property
    def latest_change(self) -> float:
        return max((info.modified for info in self.files.values()), default=0.0)

    @property
    def committed(self) -> bool:
        """Whether ``session.json`` commits the media: it must be no older than the media.

        A marker written first (or left from an earlier upload) says nothing about media still being
        copied in after it; then only the quiet period makes the folder ready.
        """
        media, marker = self.media, self.manifest
        return media is not None and marker is not None and marker.modified >= media.modified

    def is_ready(self, now: float, quiet_seconds: float) -> bool:
        """The commit marker counts only when it is no older than the media; else the quiet period."""
        if self.media is None:
            return False
        return self.committed or now - self.latest_change >= quiet_seconds


def content_version(info: ObjectInfo, sha256_hex: str | None = None) -> str:
    """What identifies an object's content: its ETag on S3, else the sha256 of its bytes."""
    if info.etag:
        return f"etag:{info.etag}"
    if sha256_hex is None:
        raise ValueError(f"{info.key} has no ETag: its content version needs the sha256 of its bytes")
    return f"sha256:{sha256_hex}"


@dataclass(frozen=True)
class Rejection:
    """A path under the uploads root that breaks the contract, with a message for the uploader."""

    key: str
    learner_id: str
    session_id: str
    message: str

    @property
    def folder(self) -> str:
        """The folder as uploaded (learner/session), escaped (``shown``): how rejections are recorded."""
        if not self.learner_id:
            return shown(self.session_id)
        return f"{shown(self.learner_id)}/{shown(self.session_id)}"


def split_key(key: str) -> tuple[str, str, str] | None:
    """``learner/session/name`` -> its three parts, or None for a key at any other depth."""
    parts = key.split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def _misplaced_session(key: str) -> str | None:
    """The folder of a session file put one level too high (``<session>/transcript.txt``), else None."""
    parts = key.split("/")
    if len(parts) == 2 and parts[0] and parts[1] in (*MEDIA_NAMES, MANIFEST_NAME):
        return parts[0]
    return None


def _wrong_depth(folder: str) -> str:
    return (
        f"session folder {folder!r} is directly under the uploads root, where learner folders go: "
        f"move it into its learner's folder, as <learner_id>/{folder}/"
    )


def group_sessions(objects: Iterable[ObjectInfo]) -> tuple[list[SessionUpload], list[Rejection]]:
    """Group listed objects by session folder; folders with invalid ids, files nested deeper than
    ``learner/session/name``, entries the listing flagged (FIFOs, symlinks leaving the root) and
    more than one media file become rejections of that folder alone."""
    grouped: dict[tuple[str, str], dict[str, ObjectInfo]] = {}
    rejections: dict[tuple[str, str], Rejection] = {}
    for info in objects:
        parts = info.key.split("/")
        if len(parts) < 3 or not all(parts):
            misplaced = _misplaced_session(info.key)
            if misplaced is not None:
                rejections.setdefault(
                    ("", misplaced), Rejection(info.key, "", misplaced, _wrong_depth(shown(misplaced)))
                )
            continue  # other stray files outside <learner>/<session>/ are not sessions
        learner_id, session_id = parts[0], parts[1]
        try:
            validate_id(learner_id, "learner id")
            validate_id(session_id, "session id")
        except PermanentError as exc:
            rejections.setdefault(
                (learner_id, session_id), Rejection(info.key, learner_id, session_id, exc.message)
            )
            continue
        problem = info.problem
        if len(parts) > 3:
            problem = f"{shown('/'.join(parts[2:]))} is in a subfolder: put the media directly in the session folder"
        if problem:
            rejections.setdefault(
                (learner_id, session_id), Rejection(info.key, learner_id, session_id, problem)
            )
            continue
        grouped.setdefault((learner_id, session_id), {})[parts[2]] = info
    for (learner_id, session_id), files in grouped.items():
        media = [name for name in MEDIA_NAMES if name in files]
        if len(media) > 1:
            rejections.setdefault(
                (learner_id, session_id),
                Rejection(
                    f"{learner_id}/{session_id}/{media[1]}",
                    learner_id,
                    session_id,
                    f"more than one media file ({', '.join(media)}): keep exactly one audio.* or transcript.txt",
                ),
            )
    sessions = [
        SessionUpload(learner, session, files)
        for (learner, session), files in sorted(grouped.items())
        if (learner, session) not in rejections
    ]
    return sessions, list(rejections.values())


def load_session(storage: Storage, learner_id: str, session_id: str) -> SessionUpload | None:
    """List one session folder; None when nothing is there any more."""
    sessions, _ = group_sessions(storage.list(f"{learner_id}/{session_id}/"))
    return sessions[0] if sessions else None


def read_manifest(storage: Storage, upload: SessionUpload) -> SessionManifest:
    """Parse ``session.json``; a missing or empty one means defaults, a malformed one is a PermanentError.

    Every way a manifest can be malformed is permanent (re-reading the same bytes cannot help): bad
    JSON or encoding, nesting deep enough to exhaust the parser's recursion, a size over 64 KiB.
    """
    if upload.manifest is None:
        return SessionManifest()
    if upload.manifest.size > MAX_MANIFEST_BYTES:
        raise PermanentError(
            f"{MANIFEST_NAME} of session {upload.session_id} is {upload.manifest.size} bytes; a manifest "
            f"holds recorded_at, language and topic and must be under {MAX_MANIFEST_BYTES} bytes",
            session_id=upload.session_id,
        )
    raw = storage.read_bytes(upload.manifest.key)
    if not raw.strip():
        return SessionManifest()  # an empty commit marker: the client had nothing to declare
    try:
        return SessionManifest.model_validate(json.loads(raw))
    except RecursionError as exc:
        raise PermanentError(
            f"{MANIFEST_NAME} of session {upload.session_id} is nested too deeply to be a manifest; "
            'expected e.g. {"recorded_at": "2026-01-31T10:00:00Z", "language": "en", "topic": "travel"}',
            session_id=upload.session_id,
        ) from exc
    except (ValueError, UnicodeError) as exc:
        if isinstance(exc, ValidationError):
            raise _invalid(upload, exc) from exc
        raise PermanentError(
            f"{MANIFEST_NAME} of session {upload.session_id} is not valid JSON ({exc}); "
            'expected e.g. {"recorded_at": "2026-01-31T10:00:00Z", "language": "en", "topic": "travel"}',
            session_id=upload.session_id,
        ) from exc


def _invalid(upload: SessionUpload, exc: ValidationError) -> PermanentError:
    problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'document'}: {e['msg']}" for e in exc.errors())
    return PermanentError(
        f"{MANIFEST_NAME} of session {upload.session_id} is invalid: {problems}",
        session_id=upload.session_id,
    )
