"""Incremental discovery of ready uploads: the uploads sensor's logic, without Dagster.

The cursor is a modification-time watermark plus the few sessions still settling, so a tick
looks at what changed since the last one. It holds no object key, so deleting or re-uploading an
object can never invalidate it; a replay or a re-upload only re-emits a session id, which the
sensor's ``run_key`` turns into a no-op. What changed comes from a ``ChangeFeed``: a full listing by
default, or S3 event notifications through SQS, whose cost follows what is new, not the bucket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pipeline.storage import Storage
from pipeline.storage.change_feed import OVERLAP_SECONDS, ChangeFeed, ListingFeed
from pipeline.uploads import Rejection, SessionUpload, group_sessions, load_session

#: A folder that never receives its media is given up after this long, so pending stays small.
PENDING_LIMIT_SECONDS = 24 * 3600.0


@dataclass
class DiscoveryCursor:
    watermark: float = 0.0
    pending: dict[str, float] = field(default_factory=dict)  # "learner/session" -> first seen
    recent: dict[str, float] = field(default_factory=dict)  # emitted in the overlap window -> latest change
    feed: dict[str, Any] = field(default_factory=dict)  # the change feed's own state, e.g. SQS receipts

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": 1,
                "watermark": self.watermark,
                "pending": self.pending,
                "recent": self.recent,
                "feed": self.feed,
            }
        )

    @classmethod
    def from_json(cls, raw: str | None) -> DiscoveryCursor:
        """Parse a stored cursor; an unreadable one restarts discovery (safe: run keys dedupe)."""
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            return cls(
                float(data["watermark"]),
                dict(data.get("pending", {})),
                dict(data.get("recent", {})),
                dict(data.get("feed", {})),  # absent in cursors written before change feeds
            )
        except (ValueError, KeyError, TypeError):
            return cls()


@dataclass
class Discovery:
    ready: list[SessionUpload]
    rejected: list[Rejection]
    waiting: int
    cursor: DiscoveryCursor


def discover(
    storage: Storage,
    cursor: DiscoveryCursor,
    *,
    now: float,
    quiet_seconds: float,
    max_sessions: int = 500,
    feed: ChangeFeed | None = None,
) -> Discovery:
    """Find sessions that became ready since ``cursor``; at most ``max_sessions`` per call."""
    feed = ListingFeed(storage) if feed is None else feed
    changed, feed_state = feed.changes({**cursor.feed, "watermark": cursor.watermark})
    watermark = max([cursor.watermark, *(info.modified for info in changed)])
    sessions, rejected = group_sessions(changed)
    # A changed object may be the last piece of a session whose other files are older than the
    # watermark, so each touched or still-pending session is listed whole (cost: what changed),
    # unless its changes alone hold the commit marker and media: the common upload, then no request.
    # (The run lists the folder itself, so the sensor's view only has to be right about readiness.)
    changed_sessions = {s.prefix: s for s in sessions}
    touched = set(changed_sessions) | set(cursor.pending)
    pending: dict[str, float] = {}
    recent = dict(cursor.recent)
    ready: list[SessionUpload] = []
    for prefix in sorted(touched):
        learner_id, session_id = prefix.split("/", 1)
        upload = changed_sessions.get(prefix)
        if upload is None or upload.manifest is None or upload.media is None:
            upload = load_session(storage, learner_id, session_id)
        if upload is None:
            continue  # deleted before it became ready
        if recent.get(prefix) == upload.latest_change:
            continue  # already emitted, seen again only because of the overlap window
        if upload.is_ready(now, quiet_seconds) and len(ready) < max_sessions:
            ready.append(upload)
            recent[prefix] = upload.latest_change
        elif upload.media is None and now - cursor.pending.get(prefix, now) > PENDING_LIMIT_SECONDS:
            rejected.append(
                Rejection(
                    prefix, learner_id, session_id, f"no audio.* or transcript.txt in {prefix}/ after a day"
                )
            )
        else:
            pending[prefix] = cursor.pending.get(prefix, now)
    recent = {k: v for k, v in recent.items() if v > watermark - OVERLAP_SECONDS}
    rejected = [r for r in rejected if f"{r.learner_id}/{r.session_id}" not in cursor.recent]
    for r in rejected:
        recent[f"{r.learner_id}/{r.session_id}"] = watermark
    return Discovery(ready, rejected, len(pending), DiscoveryCursor(watermark, pending, recent, feed_state))
