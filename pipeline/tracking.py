"""Status bookkeeping around a stage, so every failure path records why the session failed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.errors import PermanentError, TransientError
from pipeline.models import SessionState
from pipeline.status import StatusStore


def describe_failure(exc: BaseException) -> str:
    if isinstance(exc, PermanentError):
        return exc.message
    if isinstance(exc, TransientError):
        return f"transient failure (retried automatically with backoff): {exc.message}"
    return f"unexpected error ({type(exc).__name__}): {exc}"


@contextmanager
def tracked(status: StatusStore, session_id: str, state: SessionState) -> Iterator[None]:
    """Mark ``session_id`` as in ``state`` for the block; FAILED with a readable reason if it raises."""
    status.set_state(session_id, state)
    try:
        yield
    except BaseException as exc:
        status.set_state(session_id, SessionState.FAILED, error=describe_failure(exc))
        raise
