"""The profile index: each session's pattern counts and the digest of its stored snapshot.

Profile maintenance reads one learner's rows in one query instead of one insights document per
session, and writes a snapshot only when its digest changes. The index lives in columns of the
session rows (``session_status``), written right after the insights and snapshots they describe.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from pipeline.status.schema import aware, sessions_table


@dataclass(frozen=True)
class ProfileRow:
    """What profile maintenance needs of one session: its order, its pattern counts, its snapshot."""

    session_id: str
    recorded_at: datetime | None
    pattern_counts: dict[str, int] | None  # None: not known to the index (no insights, or older data)
    profile_digest: str | None  # None: no snapshot stored yet


class ProfileIndex:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def rows(self, learner_id: str) -> list[ProfileRow]:
        """Every session of ``learner_id`` with its index columns, in one query."""
        t = sessions_table
        query = sa.select(t.c.session_id, t.c.recorded_at, t.c.pattern_counts, t.c.profile_digest).where(
            t.c.learner_id == learner_id
        )
        with self.engine.connect() as conn:
            return [
                ProfileRow(
                    row.session_id,
                    aware(row.recorded_at),
                    json.loads(row.pattern_counts) if row.pattern_counts else None,
                    row.profile_digest,
                )
                for row in conn.execute(query)
            ]

    def save_counts(self, session_id: str, counts: dict[str, int], recorded_at: datetime) -> None:
        """Index a session's stored insights (called right after they are written)."""
        with self.engine.begin() as conn:
            conn.execute(
                sessions_table.update()
                .where(sessions_table.c.session_id == session_id)
                .values(pattern_counts=json.dumps(counts, sort_keys=True), recorded_at=recorded_at)
            )

    def save_digests(self, digests: dict[str, str]) -> None:
        """Record the digests of snapshots just written, in one transaction."""
        if not digests:
            return
        with self.engine.begin() as conn:
            for session_id, digest in digests.items():
                conn.execute(
                    sessions_table.update()
                    .where(sessions_table.c.session_id == session_id)
                    .values(profile_digest=digest)
                )
