"""The one place that classifies failures.

Everything the core raises on purpose is one of two kinds, because the orchestration layer needs
exactly one decision from it: is a retry worth paying for?
"""

from __future__ import annotations


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
