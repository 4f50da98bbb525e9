"""The uploads registry: every session folder the sensor has seen and its content version.

Discovery decides by identity: a folder is new when the registry has no row for it, and changed
when its media's content version (sha256 of the bytes on a local folder, the ETag on S3) differs
from the version a run was last requested for. Timestamps only decide readiness. The sensor's
cursor holds only a tick number: a tick marks what it requests as *pending* under its number, and
the next tick confirms those marks if the cursor it receives says that tick was committed, or drops
them if not (the daemon never stored that tick, so its runs must be requested again).

Rejected folders are kept in the status store (``pipeline.status.rejections``), where operators
list them. A change feed's own state (SQS receipt handles to acknowledge) is kept per tick here
too, so the cursor stays a number.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, replace
from typing import Any

import sqlalchemy as sa

from pipeline.status import migrations
from pipeline.status.schema import metadata

registry_table = sa.Table(
    "upload_registry",
    metadata,
    sa.Column("folder", sa.String(160), primary_key=True),  # "<learner_id>/<session_id>", both valid ids
    sa.Column("learner_id", sa.String(64), nullable=False),
    sa.Column("session_id", sa.String(64), nullable=False, index=True),
    sa.Column("listing", sa.String(64), nullable=False),  # digest of the folder's names and object versions
    sa.Column("changed_at", sa.Float, nullable=False),  # sensor clock: when the listing last changed
    sa.Column("first_seen", sa.Float, nullable=False),  # sensor clock
    sa.Column("latest_mtime", sa.Float, nullable=False),  # the writers' clock, newest object
    sa.Column("has_manifest", sa.Boolean, nullable=False),
    sa.Column("media_key", sa.String(512), nullable=True),
    sa.Column("media_stat", sa.String(128), nullable=True),  # ObjectInfo.version: the cheap precheck
    sa.Column("content_version", sa.String(128), nullable=True),  # "sha256:<hex>" or "etag:<etag>"
    sa.Column("requested_version", sa.String(128), nullable=True),  # a committed tick requested a run for it
    sa.Column("pending_version", sa.String(128), nullable=True),  # requested by tick `pending_tick`
    sa.Column("pending_tick", sa.Integer, nullable=True),
    sa.Column("open", sa.Boolean, nullable=False, index=True),  # waiting, ready or in the backlog
)

feed_state_table = sa.Table(
    "upload_feed_state",
    metadata,
    sa.Column("tick", sa.Integer, primary_key=True),
    sa.Column("state", sa.Text, nullable=False),  # the change feed's state after that tick (JSON)
)

_CHUNK = 500  # ids per IN (...) query, well below SQLite's parameter limit


@dataclass(frozen=True)
class FolderRow:
    """One session folder as the registry knows it."""

    folder: str
    learner_id: str
    session_id: str
    listing: str
    changed_at: float
    first_seen: float
    latest_mtime: float
    has_manifest: bool
    media_key: str | None = None
    media_stat: str | None = None
    content_version: str | None = None
    requested_version: str | None = None
    pending_version: str | None = None
    pending_tick: int | None = None
    open: bool = True

    def with_(self, **changes: object) -> FolderRow:
        return replace(self, **changes)  # type: ignore[arg-type]  # replace() is typed per field; the dataclass checks names at run time


_FIELDS = [f.name for f in fields(FolderRow)]


class UploadRegistry:
    """The registry tables on the status store's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        migrations.upgrade(engine)  # a no-op on an engine from open_engine

    def settle(self, committed_tick: int) -> None:
        """Confirm the marks of committed ticks; drop those of ticks the daemon never committed."""
        t = registry_table
        with self.engine.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.pending_tick.is_not(None), t.c.pending_tick <= committed_tick)
                .values(requested_version=t.c.pending_version, pending_version=None, pending_tick=None)
            )
            conn.execute(
                t.update()
                .where(t.c.pending_tick > committed_tick)
                .values(pending_version=None, pending_tick=None, open=True)
            )

    def feed_state(self, tick: int) -> dict[str, Any]:
        """The change feed's state as tick ``tick`` left it ({} if none)."""
        t = feed_state_table
        with self.engine.connect() as conn:
            raw = conn.execute(sa.select(t.c.state).where(t.c.tick == tick)).scalar()
        return json.loads(raw) if raw else {}

    def save_feed_state(self, tick: int, state: dict[str, Any]) -> None:
        """Keep the feed's state of ``tick`` (e.g. SQS receipts to acknowledge once it is committed)."""
        t = feed_state_table
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(sa.or_(t.c.tick == tick, t.c.tick < tick - 1)))
            conn.execute(t.insert().values(tick=tick, state=json.dumps(state)))

    def rows(self, folders: Iterable[str] | None = None) -> dict[str, FolderRow]:
        """The rows of ``folders`` (all rows when None), by folder."""
        t = registry_table
        if folders is None:
            return dict(self._select(sa.select(t)))
        wanted = sorted(set(folders))
        found: dict[str, FolderRow] = {}
        for start in range(0, len(wanted), _CHUNK):
            found.update(self._select(sa.select(t).where(t.c.folder.in_(wanted[start : start + _CHUNK]))))
        return found

    def open_rows(self) -> dict[str, FolderRow]:
        """Folders still waiting, ready or queued: what a tick fed by events must look at again."""
        return dict(self._select(sa.select(registry_table).where(registry_table.c.open.is_(True))))

    def _select(self, query: sa.Select) -> Iterator[tuple[str, FolderRow]]:
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                values = {name: getattr(row, name) for name in _FIELDS}
                values["has_manifest"], values["open"] = bool(values["has_manifest"]), bool(values["open"])
                yield row.folder, FolderRow(**values)

    def save(self, rows: Iterable[FolderRow]) -> None:
        """Insert or update ``rows`` in one transaction."""
        rows = list(rows)
        if not rows:
            return
        t = registry_table
        existing = set(self.rows_exist([r.folder for r in rows]))
        with self.engine.begin() as conn:
            for row in rows:
                values = {name: getattr(row, name) for name in _FIELDS}
                if row.folder in existing:
                    conn.execute(t.update().where(t.c.folder == row.folder).values(**values))
                else:
                    conn.execute(t.insert().values(**values))

    def rows_exist(self, folders: list[str]) -> list[str]:
        t = registry_table
        found: list[str] = []
        with self.engine.connect() as conn:
            for start in range(0, len(folders), _CHUNK):
                chunk = folders[start : start + _CHUNK]
                found += [r.folder for r in conn.execute(sa.select(t.c.folder).where(t.c.folder.in_(chunk)))]
        return found
