"""Discovery of ready uploads by identity: the uploads sensor's logic, without Dagster.

A tick looks at what changed, through a ``ChangeFeed``: one listing of the uploads prefix by
default, or S3 event notifications from SQS (then only the folders the events touch are listed,
one each). It compares each folder with the registry (``pipeline.intake.registry``): a folder it has not
seen, or whose media's content version (sha256 of the bytes, checked only when size or mtime
changed; the ETag on S3) differs from the one a run was requested for, is a candidate. Timestamps
only decide readiness, so preserved old times and skewed clocks lose nothing. Ready candidates are
ranked oldest first and at most ``max_sessions`` are requested; the rest stay open in the registry
for the next tick, which finds them again without a listing of its own. The cursor holds only the
tick number (the feed's own state is kept in the registry, per tick).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from pipeline.intake.contract import (
    Rejection,
    SessionUpload,
    content_version,
    group_sessions,
    is_valid_id,
    load_session,
)
from pipeline.intake.registry import FolderRow, UploadRegistry
from pipeline.status.store import StatusStore
from pipeline.storage import ObjectInfo, Storage
from pipeline.storage.change_feed import ChangeFeed, ListingFeed

#: A folder that never receives its media is reported after this long (and processed if it comes).
PENDING_LIMIT_SECONDS = 24 * 3600.0


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


@dataclass(frozen=True)
class ReadyUpload:
    """A session folder to run now, at one content version of its media."""

    learner_id: str
    session_id: str
    media_key: str
    version: str
    seen_at: float  # when the sensor first saw this version (its own clock)
    reupload: bool  # an earlier version of it was already requested

    @property
    def short_version(self) -> str:
        return hashlib.sha256(self.version.encode()).hexdigest()[:12]

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


def _version(storage: Storage, media: ObjectInfo, row: FolderRow | None) -> str:
    """The media's content version; a local file is hashed only when its size or mtime changed."""
    if media.etag:
        return content_version(media)
    if (
        row is not None
        and row.content_version
        and (row.media_key, row.media_stat) == (media.key, media.version)
    ):
        return row.content_version
    with storage.local_file(media.key) as path, path.open("rb") as handle:
        return content_version(media, hashlib.file_digest(handle, "sha256").hexdigest())


def _observe(storage: Storage, upload: SessionUpload, row: FolderRow | None, now: float) -> FolderRow:
    """The folder's registry row as listed now: what changed keeps its identity, the rest its history."""
    listing = hashlib.sha256(
        json.dumps(sorted((name, info.version) for name, info in upload.files.items())).encode()
    ).hexdigest()
    media = upload.media
    base = row or FolderRow(
        upload.prefix, upload.learner_id, upload.session_id, listing, now, now, 0.0, False
    )
    return base.with_(
        listing=listing,
        changed_at=base.changed_at if row is not None and row.listing == listing else now,
        latest_mtime=upload.latest_change,
        has_manifest=upload.manifest is not None,
        media_key=media.key if media else None,
        media_stat=media.version if media else None,
        content_version=_version(storage, media, row) if media else None,
    )


def _is_ready(row: FolderRow, now: float, quiet_seconds: float) -> bool:
    if row.content_version is None:
        return False
    if row.requested_version is not None:
        # A new version of a processed session: session.json was committed for the old one, so
        # the new media must be quiet, by the sensor's own clock.
        return now - row.changed_at >= quiet_seconds
    # A writer's clock ahead of ours cannot postpone readiness: the sensor's first sight caps it.
    return row.has_manifest or now - min(row.latest_mtime, row.changed_at) >= quiet_seconds


def _adopt(status: StatusStore, rows: dict[str, FolderRow], new: set[str]) -> None:
    """Folders new to the registry whose session the status store already has at this version (or
    from before versions were recorded) are taken as processed: upgrading starts no runs."""
    candidates = [f for f in new if rows[f].content_version]
    known = status.get_many(rows[f].session_id for f in candidates)
    for folder in candidates:
        row, session = rows[folder], known.get(rows[folder].session_id)
        adopt = session is not None and session.learner_id == row.learner_id
        if adopt and session.upload_version in (None, row.content_version):
            rows[folder] = row.with_(requested_version=row.content_version, open=False)


def discover(
    storage: Storage,
    registry: UploadRegistry,
    status: StatusStore,
    cursor: DiscoveryCursor,
    *,
    now: float,
    quiet_seconds: float,
    max_sessions: int = 500,
    feed: ChangeFeed | None = None,
) -> Discovery:
    """One tick: what is ready to run now (at most ``max_sessions``), what waits, what is rejected."""
    registry.settle(cursor.tick)
    tick = cursor.tick + 1
    listing_mode = feed is None or isinstance(feed, ListingFeed)
    if listing_mode:
        uploads, rejected = group_sessions(storage.list())
        listings, known = 1, registry.rows()
    else:
        assert feed is not None
        # The state of the last committed tick (cursors of older releases carried it themselves).
        changed, feed_state = feed.changes(dict(cursor.feed) or registry.feed_state(cursor.tick))
        registry.save_feed_state(tick, feed_state)
        touched, rejected = group_sessions(changed)
        uploads, listings = [], 0
        for upload in touched:  # an event shows one object: the folder is listed whole, once
            if upload.manifest is None or upload.media is None:
                listings += 1
                upload = load_session(storage, upload.learner_id, upload.session_id) or upload
            uploads.append(upload)
        known = {**registry.open_rows(), **registry.rows(u.prefix for u in uploads)}
    rows = dict(known) if not listing_mode else {}
    for upload in uploads:
        try:
            rows[upload.prefix] = _observe(storage, upload, known.get(upload.prefix), now)
        except FileNotFoundError:
            continue  # removed while we looked: the next tick sees what is left
    _adopt(status, rows, set(rows) - set(known))
    candidates, waiting, reports = [], 0, []
    for folder, row in rows.items():
        if row.requested_version is not None and row.content_version in (None, row.requested_version):
            # Processed at this version, or processed and its media removed since (AUDIO_RETENTION).
            rows[folder] = row.with_(open=False)
        elif _is_ready(row, now, quiet_seconds):
            candidates.append(row)
        elif row.content_version is None and now - row.first_seen > PENDING_LIMIT_SECONDS:
            reports.append(
                Rejection(
                    folder,
                    row.learner_id,
                    row.session_id,
                    f"no audio.* or transcript.txt in {folder}/ after a day",
                )
            )
            rows[folder] = row.with_(open=False)  # reported; an event or a listing reopens it
        else:
            waiting += 1
            rows[folder] = row.with_(open=True)
    selected, collisions = _owned(status, sorted(candidates, key=lambda r: (r.changed_at, r.folder)))
    for row in collisions:
        rows[row.folder] = row.with_(open=False)
    ready = selected[:max_sessions]
    for row in selected[max_sessions:]:
        rows[row.folder] = row.with_(open=True)
    for row in ready:
        rows[row.folder] = row.with_(pending_version=row.content_version, pending_tick=tick, open=False)
    registry.save(row for folder, row in rows.items() if known.get(folder) != row)
    registry.clear_rejections(row.folder for row in ready)
    rejected += reports + [
        Rejection(
            row.folder,
            row.learner_id,
            row.session_id,
            f"session id {row.session_id} is already used by learner {owner}; session ids must be "
            "unique across learners: rename the folder",
        )
        for row, owner in collisions.items()
    ]
    fresh = dict(registry.record_rejections((r.folder, r.message) for r in rejected))
    return Discovery(
        [
            ReadyUpload(
                r.learner_id,
                r.session_id,
                r.media_key or "",
                r.content_version or "",
                r.changed_at,
                r.requested_version is not None,
            )
            for r in ready
        ],
        [r for r in rejected if fresh.get(r.folder) == r.message],
        waiting,
        len(selected) - len(ready),
        listings,
        DiscoveryCursor(tick),
    )


def _owned(status: StatusStore, rows: list[FolderRow]) -> tuple[list[FolderRow], dict[FolderRow, str]]:
    """Split ready rows into those whose session id is free or theirs, and collisions with their owner."""
    # A row under an invalid learner id was written by an older release's rejection: it owns nothing.
    owners = {
        s: row.learner_id
        for s, row in status.get_many(r.session_id for r in rows).items()
        if is_valid_id(row.learner_id)
    }
    selected, collisions = [], {}
    for row in rows:
        owner = owners.setdefault(row.session_id, row.learner_id)  # first folder of a new id owns it
        if owner == row.learner_id:
            selected.append(row)
        else:
            collisions[row] = owner
    return selected, collisions
