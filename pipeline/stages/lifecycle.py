"""The session lifecycle: the one module that moves a session between its states.

``UPLOADED -> TRANSCRIBING -> ANALYZING -> DONE``, or ``FAILED`` with a readable reason and whether
a retry can help. The sensor registers an upload, the stages mark their progress, a profile pass
finishes a session, and the run failure sensors fail what a dead run left unfinished: each through
a function here, so every transition is written (and recorded with the run that made it) the same
way. ``pipeline.status.store`` is the table; a test checks nothing else calls its writers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime

from pipeline.domain.errors import describe_failure, failure_kind
from pipeline.domain.models import SessionState
from pipeline.intake.tick import short_version
from pipeline.status.store import StatusStore

#: States a session is in while a run owns it (or before one starts).
UNFINISHED = frozenset({SessionState.UPLOADED, SessionState.TRANSCRIBING, SessionState.ANALYZING})


def register_upload(
    status: StatusStore,
    session_id: str,
    learner_id: str,
    *,
    media_key: str | None,
    uploaded_at: datetime | None,
    version: str | None,
    completed_at: datetime | None = None,
) -> bool:
    """A new upload (or a new content version of one) is ``UPLOADED``; False if already known at it.

    ``uploaded_at`` is when the sensor first saw this version, ``completed_at`` when the upload was
    complete (``pipeline.intake.discovery.upload_completed_at``; ``uploaded_at`` when not given).
    """
    return status.register(
        session_id,
        learner_id,
        media_key=media_key,
        uploaded_at=uploaded_at,
        version=version,
        completed_at=completed_at,
    )


@contextmanager
def tracked(
    status: StatusStore, session_id: str, state: SessionState, run_id: str | None = None
) -> Iterator[None]:
    """Mark ``session_id`` as in ``state`` for the block; FAILED with a readable reason if it raises."""
    status.set_state(session_id, state, run_id=run_id)
    try:
        yield
    except BaseException as exc:
        fail(status, session_id, exc, run_id)
        raise


def identify(
    status: StatusStore, session_id: str, *, learner_id: str, recorded_at: datetime, run_id: str | None
) -> None:
    """Record whose session it is and when it was recorded, as the transcript stage learns it."""
    status.set_state(
        session_id, SessionState.TRANSCRIBING, learner_id=learner_id, recorded_at=recorded_at, run_id=run_id
    )


def finish(status: StatusStore, session_id: str, run_id: str | None) -> None:
    """Every selected stage of the session is stored: ``DONE``."""
    status.set_state(session_id, SessionState.DONE, run_id=run_id)


def pause(status: StatusStore, session_id: str, *, profiled: bool, run_id: str | None) -> None:
    """A run that stops before the profile (e.g. transcript only) still leaves a final state:
    ``DONE`` if a profile snapshot is stored from an earlier run, else ``UPLOADED`` (more to do)."""
    status.set_state(session_id, SessionState.DONE if profiled else SessionState.UPLOADED, run_id=run_id)


def fail(status: StatusStore, session_id: str, exc: BaseException, run_id: str | None) -> None:
    """``FAILED`` with the reason users read and whether a retry can help (``pipeline.domain.errors``)."""
    status.set_state(
        session_id,
        SessionState.FAILED,
        error=describe_failure(exc),
        error_kind=failure_kind(exc),
        run_id=run_id,
    )


def fail_unfinished(
    status: StatusStore,
    session_ids: Sequence[str],
    run_id: str,
    error: str,
    requested: Mapping[str, str] | None = None,
) -> list[str]:
    """Fail (transiently: a backfill redoes them) the sessions a dead or terminated run left unfinished.

    A session another run has moved on since belongs to that run now and is left alone, and so is
    one re-uploaded since the run was requested (``requested``: the short content version the run
    was for, per session, from its run key): the run of its new version owns it, even while queued.
    """
    marked = []
    for session_id, current in status.get_many(session_ids).items():
        wanted = (requested or {}).get(session_id)
        if wanted and current.upload_version and short_version(current.upload_version) != wanted:
            continue
        if current.state in UNFINISHED and current.run_id in (None, run_id):
            status.set_state(
                session_id, SessionState.FAILED, error=error, error_kind="transient", run_id=run_id
            )
            marked.append(session_id)
    return marked
