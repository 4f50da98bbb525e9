"""Rejected upload folders: what operators must fix, listed by ``python -m pipeline.status --rejected``.

A folder that breaks the upload contract (an invalid id, a session id another learner uses, no
media after a day) is recorded under its folder path as uploaded, never under a session id, so it
can never touch a valid session's row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from pipeline.domain.models import utcnow
from pipeline.status.schema import aware, rejections_table

_CHUNK = 500  # folders per IN (...) query, well below SQLite's parameter limit


@dataclass(frozen=True)
class RejectionRow:
    folder: str
    reason: str
    first_seen: datetime | None
    last_seen: datetime | None


class Rejections:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def record(self, rejections: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Record ``(folder, reason)`` pairs; returns those that are new or whose reason changed."""
        pairs = dict(rejections)
        if not pairs:
            return []
        t = rejections_table
        now = utcnow()
        known: dict[str, str] = {}
        with self.engine.connect() as conn:
            keys = sorted(pairs)
            for start in range(0, len(keys), _CHUNK):
                query = sa.select(t.c.folder, t.c.reason).where(t.c.folder.in_(keys[start : start + _CHUNK]))
                known.update({r.folder: r.reason for r in conn.execute(query)})
        fresh = [(folder, reason) for folder, reason in pairs.items() if known.get(folder) != reason]
        with self.engine.begin() as conn:
            for folder, reason in fresh:
                if folder in known:
                    conn.execute(t.update().where(t.c.folder == folder).values(reason=reason, last_seen=now))
                else:
                    conn.execute(
                        t.insert().values(folder=folder, reason=reason, first_seen=now, last_seen=now)
                    )
        return fresh

    def clear(self, folders: Iterable[str]) -> None:
        """Forget rejections that no longer hold (e.g. the media arrived after a day)."""
        folders = sorted(set(folders))
        if folders:
            with self.engine.begin() as conn:
                conn.execute(rejections_table.delete().where(rejections_table.c.folder.in_(folders)))

    def forget_except(self, folders: Iterable[str]) -> list[str]:
        """Forget the rejections of every folder not in ``folders`` (all there are now); returns those forgotten."""
        keep, t = set(folders), rejections_table
        with self.engine.connect() as conn:
            gone = sorted(set(conn.execute(sa.select(t.c.folder)).scalars()) - keep)
        with self.engine.begin() as conn:
            for start in range(0, len(gone), _CHUNK):
                conn.execute(t.delete().where(t.c.folder.in_(gone[start : start + _CHUNK])))
        return gone

    def list(self) -> list[RejectionRow]:
        t = rejections_table
        with self.engine.connect() as conn:
            return [
                RejectionRow(r.folder, r.reason, aware(r.first_seen), aware(r.last_seen))
                for r in conn.execute(sa.select(t).order_by(t.c.folder))
            ]
