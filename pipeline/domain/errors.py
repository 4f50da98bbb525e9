"""The one place that classifies failures: their kind (retry or not) and the words users read.

Everything the core raises on purpose is one of two kinds, because the orchestration layer needs
exactly one decision from it: is a retry worth paying for? Provider SDK exceptions are translated
into these kinds in ``pipeline.providers.cloud_errors``, using ``is_transient_status`` from here.
"""

from __future__ import annotations

import json


class PipelineError(Exception):
    """Base of the classified failures; ``message`` is written for the person who must act on it."""

    def __init__(self, message: str, *, session_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.session_id = session_id


class PermanentError(PipelineError):
    """Bad input or rejected credentials: retrying cannot help."""


class TransientError(PipelineError):
    """Timeouts, rate limits, 5xx: the same call may well succeed later."""


#: HTTP statuses a provider answers when the same request may succeed later (with 5xx and timeouts).
TRANSIENT_HTTP_STATUSES = frozenset({408, 409, 429})


def is_transient_status(status: int) -> bool:
    """Whether a provider's HTTP error status is worth retrying: rate limits, conflicts, timeouts, 5xx."""
    return status in TRANSIENT_HTTP_STATUSES or status >= 500


#: Failures that come from the input itself and recur identically on every retry: a malformed or
#: absurdly nested document (``RecursionError``), bytes that are not the encoding they claim. They
#: are permanent even when nothing wrapped them in a PermanentError, so no retry is ever paid for.
DETERMINISTIC_ERRORS: tuple[type[BaseException], ...] = (
    RecursionError,
    UnicodeError,
    json.JSONDecodeError,
)


#: Metadata key naming the stage a session failed at, on the check evaluations and observations a
#: failed session leaves; the alerts sensor reads it to leave those to the run's own alert.
FAILED_STAGE = "failed_stage"


def describe_failure(exc: BaseException) -> str:
    """The reason recorded on a FAILED session and shown to users, worded for the person who acts on it."""
    if isinstance(exc, PermanentError):
        return exc.message
    if isinstance(exc, TransientError):
        return f"transient failure (retried automatically with backoff): {exc.message}"
    if not isinstance(exc, Exception):  # KeyboardInterrupt, Dagster's interruption: not the session's fault
        return "interrupted: the run was terminated or its worker stopped; re-materialize the session to finish it"
    return f"unexpected error ({type(exc).__name__}): {exc}"


def failure_kind(exc: BaseException) -> str:
    """Permanent failures (and deterministic ones) are not retried; anything else is.

    Unclassified errors default to transient because an unknown cause (a worker's OOM, a network
    library's own exception) may well pass; the deterministic ones above never do.
    """
    return "permanent" if isinstance(exc, (PermanentError, *DETERMINISTIC_ERRORS)) else "transient"
