"""The events an operator is alerted to: a failed (or canceled) run with its FAILED sessions, an
ERROR asset check, a freshness FAIL. Each carries only what its message may show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class FailedSession:
    session_id: str
    learner_id: str
    reason: str  # a safe, classified reason (``reasons.session_reason``), never the stored message
    retry_helps: bool


@dataclass(frozen=True)
class RunEnded:
    """A run that failed (or was canceled and left sessions FAILED)."""

    run_id: str
    job: str
    canceled: bool
    cause: str  # a safe label of Dagster's failure reason (``reasons.run_cause``)
    retried: bool = False  # Dagster's run retries start a new run for it
    sessions: tuple[FailedSession, ...] = ()


@dataclass(frozen=True)
class CheckFailed:
    """An asset check evaluated ERROR and did not pass."""

    asset: str
    check: str
    session_id: str | None
    why: str  # safe (``reasons.check_reason``)
    run_id: str | None = None


@dataclass(frozen=True)
class FreshnessFailed:
    """An asset's freshness state became FAIL."""

    asset: str
    previous_state: str
    at: datetime
    last_update: datetime | None = None


AlertEvent = RunEnded | CheckFailed | FreshnessFailed


@dataclass(frozen=True)
class Alert:
    """One message: a subject (the e-mail subject, the first line in chat) and its text."""

    subject: str
    body: str
    events: int = 1  # how many events it reports
    tags: tuple[str, ...] = field(default=())

    @property
    def text(self) -> str:
        return f"{self.subject}\n{self.body}" if self.body else self.subject
