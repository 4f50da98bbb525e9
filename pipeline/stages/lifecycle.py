"""Status bookkeeping around a stage, so every failure path records why the session failed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.domain.errors import PermanentError, TransientError
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore


def describe_failure(exc: BaseException) -> str:
    if isinstance(exc, PermanentError):
        return exc.message
    if isinstance(exc, TransientError):
        return f"transient failure (retried automatically with backoff): {exc.message}"
    if not isinstance(exc, Exception):  # KeyboardInterrupt, Dagster's interruption: not the session's fault
        return "interrupted: the run was terminated or its worker stopped; re-materialize the session to finish it"
    return f"unexpected error ({type(exc).__name__}): {exc}"


def failure_kind(exc: BaseException) -> str:
    """Permanent failures are not retried; anything else (transient, unexpected) is."""
    return "permanent" if isinstance(exc, PermanentError) else "transient"


@contextmanager
def tracked(
    status: StatusStore, session_id: str, state: SessionState, run_id: str | None = None
) -> Iterator[None]:
    """Mark ``session_id`` as in ``state`` for the block; FAILED with a readable reason if it raises."""
    status.set_state(session_id, state, run_id=run_id)
    try:
        yield
    except BaseException as exc:
        status.set_state(
            session_id,
            SessionState.FAILED,
            error=describe_failure(exc),
            error_kind=failure_kind(exc),
            run_id=run_id,
        )
        raise
