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
from dataclasses import dataclass

from pipeline.domain.errors import PipelineError
from pipeline.domain.ids import is_valid_id
from pipeline.intake.contract import (
    Rejection,
    SessionUpload,
    content_version,
    group_sessions,
    load_session,
)
from pipeline.intake.ownership import case_twins
from pipeline.intake.registry import FolderRow, UploadRegistry
from pipeline.intake.tick import Discovery, DiscoveryCursor, ReadyUpload
from pipeline.status.store import StatusStore
from pipeline.storage import ObjectInfo, Storage
from pipeline.storage.change_feed import ChangeFeed, ListingFeed

#: A folder that never receives its media is reported after this long (and processed if it comes).
PENDING_LIMIT_SECONDS = 24 * 3600.0


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


def _folder_row(storage: Storage, upload: SessionUpload, row: FolderRow | None, now: float) -> FolderRow:
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
        has_manifest=upload.committed,  # a marker older than the media commits nothing
        media_key=media.key if media else None,
        media_stat=media.version if media else None,
        content_version=_version(storage, media, row) if media else None,
    )


def upload_completed_at(row: FolderRow, now: float) -> float:
    """When the upload was complete: what a session's upload -> DONE is measured from.

    On S3 (an ETag version) the newest object's ``LastModified``, the service's own clock. A local
    file's modification time is the writer's clock and can be preserved from long ago (``cp -p``,
    ``rsync -t``): it counts when it is not older than the sensor's first sight of this version of
    the folder, else that first sight does. Never later than ``now``: a writer's clock ahead of ours
    cannot put the completion in the future.
    """
    if (row.content_version or "").startswith("etag:"):
        return min(row.latest_mtime, now)
    first_sight = row.changed_at if row.requested_version is not None else row.first_seen
    return min(max(row.latest_mtime, first_sight), now)


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
        if (
            session is not None
            and session.learner_id == row.learner_id
            and session.upload_version in (None, row.content_version)
        ):
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
    """One tick: what is ready to run now (at most ``max_sessions``), what waits, what is rejected.

    Four phases: *observe* what changed (a listing or the feed's events) as registry rows, *classify*
    each row (processed, ready, waiting, or rejected after a day without media), *select* the ready
    ones this tick requests (session ids owned by one learner, oldest first, at most
    ``max_sessions``), and *persist* the rows and the rejections.
    """
    registry.settle(cursor.tick)
    tick = cursor.tick + 1
    seen = _observe(storage, registry, status, cursor, tick, now, feed)
    sorted_rows = _classify(seen.rows, now, quiet_seconds)
    chosen = _select(status, seen.rows, sorted_rows.candidates, max_sessions, tick)
    rejected = seen.rejected + sorted_rows.rejected + chosen.rejected
    fresh = _persist(registry, status, seen, chosen.ready, rejected)
    return Discovery(
        [
            ReadyUpload(
                r.learner_id,
                r.session_id,
                r.media_key or "",
                r.content_version or "",
                r.changed_at,
                r.requested_version is not None,
                upload_completed_at(r, now),
            )
            for r in chosen.ready
        ],
        [r for r in rejected if fresh.get(r.folder) == r.message],
        sorted_rows.waiting,
        chosen.backlog,
        seen.listings,
        DiscoveryCursor(tick),
    )


@dataclass
class _Observed:
    rows: dict[str, FolderRow]  # every folder this tick looks at, as observed now
    known: dict[str, FolderRow]  # the same folders as the registry had them
    rejected: list[Rejection]  # folders that break the contract by their names alone
    listings: int
    present: set[str] | None = None  # with a full listing: every folder there is now


def _observe(
    storage: Storage,
    registry: UploadRegistry,
    status: StatusStore,
    cursor: DiscoveryCursor,
    tick: int,
    now: float,
    feed: ChangeFeed | None,
) -> _Observed:
    """Phase 1: the folders that changed (every folder, with a listing) as registry rows."""
    listing_mode = feed is None or isinstance(feed, ListingFeed)
    present: set[str] | None = None
    if listing_mode:
        uploads, rejected = group_sessions(storage.list())
        present = {u.prefix for u in uploads} | {r.folder for r in rejected}
        twins = case_twins(uploads)  # a full listing sees every spelling of an id
        rejected += twins
        uploads = [u for u in uploads if u.prefix not in {t.folder for t in twins}]
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
            rows[upload.prefix] = _folder_row(storage, upload, known.get(upload.prefix), now)
        except FileNotFoundError:
            continue  # removed while we looked: the next tick sees what is left
        except (PipelineError, OSError) as exc:  # unreadable: that folder is rejected, the rest go on
            reason = exc.message if isinstance(exc, PipelineError) else f"cannot be read ({exc.strerror})"
            rejected.append(Rejection(upload.prefix, upload.learner_id, upload.session_id, reason))
    _adopt(status, rows, set(rows) - set(known))
    return _Observed(rows, known, rejected, listings, present)


@dataclass
class _Classified:
    candidates: list[FolderRow]  # ready at a version no run was requested for
    waiting: int  # not ready yet (settling, or no media)
    rejected: list[Rejection]  # no media after a day


def _classify(rows: dict[str, FolderRow], now: float, quiet_seconds: float) -> _Classified:
    """Phase 2: each row processed, ready, waiting, or rejected (``rows`` get their ``open`` flag)."""
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
    return _Classified(candidates, waiting, reports)


@dataclass
class _Selection:
    ready: list[FolderRow]  # requested by this tick, oldest first
    backlog: int  # ready beyond this tick's limit
    rejected: list[Rejection]  # session ids another learner owns


def _select(
    status: StatusStore, rows: dict[str, FolderRow], candidates: list[FolderRow], max_sessions: int, tick: int
) -> _Selection:
    """Phase 3: the candidates this tick requests, marked pending under its number; the rest wait."""
    selected, collisions = _owned(status, sorted(candidates, key=lambda r: (r.changed_at, r.folder)))
    for row in collisions:
        rows[row.folder] = row.with_(open=False)
    ready = selected[:max_sessions]
    for row in selected[max_sessions:]:
        rows[row.folder] = row.with_(open=True)
    for row in ready:
        rows[row.folder] = row.with_(pending_version=row.content_version, pending_tick=tick, open=False)
    rejected = [
        Rejection(
            row.folder,
            row.learner_id,
            row.session_id,
            f"session id {row.session_id} is already used by learner {owner}; session ids must be "
            "unique across learners: rename the folder",
        )
        for row, owner in collisions.items()
    ]
    return _Selection(ready, len(selected) - len(ready), rejected)


def _persist(
    registry: UploadRegistry,
    status: StatusStore,
    seen: _Observed,
    ready: list[FolderRow],
    rejected: list[Rejection],
) -> dict[str, str]:
    """Phase 4: store the rows that changed and the rejections; the rejections new this tick, by folder."""
    registry.save(row for folder, row in seen.rows.items() if seen.known.get(folder) != row)
    status.rejections.clear(row.folder for row in ready)
    if seen.present is not None:  # a folder deleted since it was rejected has nothing left to fix
        status.rejections.forget_except(seen.present)
    return dict(status.rejections.record((r.folder, r.message) for r in rejected))


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
