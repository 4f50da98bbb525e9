"""A tick of the uploads sensor as data: the cursor it resumes from and what it found.

The cursor holds only the tick number: what a tick requested is marked in the registry under that
number, and the next tick confirms or drops the marks (``pipeline.intake.registry``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from pipeline.intake.contract import Rejection


@dataclass
class DiscoveryCursor:
    tick: int = 0  # the last tick the daemon committed
    feed: dict[str, Any] = field(default_factory=dict)  # a feed state from an older release's cursor

    def to_json(self) -> str:
        return json.dumps({"v": 2, "tick": self.tick, **({"feed": self.feed} if self.feed else {})})

    @classmethod
    def from_json(cls, raw: str | None) -> DiscoveryCursor:
        """Parse a stored cursor; an unreadable or older one restarts at tick 0 (the registry remembers)."""
        try:
            data = json.loads(raw or "{}")
            return cls(int(data.get("tick", 0)), dict(data.get("feed", {})))
        except (ValueError, TypeError, AttributeError):
            return cls()


def short_version(version: str) -> str:
    """The content version as it appears in a run key (``<session_id>:<short version>``)."""
    return hashlib.sha256(version.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ReadyUpload:
    """A session folder to run now, at one content version of its media."""

    learner_id: str
    session_id: str
    media_key: str
    version: str
    seen_at: float  # when the sensor first saw this version (its own clock)
    reupload: bool  # an earlier version of it was already requested
    completed_at: float | None = None  # when the upload was complete (discovery.upload_completed_at)

    @property
    def short_version(self) -> str:
        return short_version(self.version)

    @property
    def run_key(self) -> str:
        return f"{self.session_id}:{self.short_version}"


@dataclass
class Discovery:
    ready: list[ReadyUpload]  # to request this tick, oldest first
    rejected: list[Rejection]  # newly rejected folders (each is reported once)
    waiting: int  # folders not ready yet (settling, or no media)
    backlog: int  # ready, beyond this tick's limit: requested by the next ticks
    listings: int  # storage listings this tick
    cursor: DiscoveryCursor
