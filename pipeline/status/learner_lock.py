"""One profile pass per learner at a time, across processes and machines.

Each insights write is followed by a profile pass under this lock, so the last pass always sees
every stored analysis and snapshots converge whatever the run order. On PostgreSQL a session-level
advisory lock on a connection of its own, so no transaction stays open while snapshots are
written; SQLite lives on one machine, so a lock file beside the database does.
"""

from __future__ import annotations

import fcntl
import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa


class LearnerLocks:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @contextmanager
    def hold(self, learner_id: str) -> Iterator[None]:
        """Hold ``learner_id``'s lock for the block (waiting for another holder to finish)."""
        digest = hashlib.sha256(learner_id.encode()).digest()
        if self.engine.dialect.name != "sqlite":
            key = int.from_bytes(digest[:8], "big", signed=True)
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
                try:
                    yield
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            return
        database = self.engine.url.database
        lock_dir = (
            Path(database).parent if database and database != ":memory:" else Path(tempfile.gettempdir())
        )
        lock_path = lock_dir / f".learner-{digest.hex()[:16]}.lock"
        with open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
