"""The session status store: the lifecycle of every session, queryable without Dagster.

SQLAlchemy Core over SQLite by default and PostgreSQL in production (``STATUS_DB_URL``). It is
also the session registry (session id -> learner, media, recorded_at), which lets backfills and
the per-learner profile find sessions without listing the uploads, and the profile index (each
session's pattern counts and the digest of its stored snapshot), which keeps profile maintenance
one query per learner instead of one document read per session.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from pipeline.domain.models import SessionState, SessionStatus, utcnow
from pipeline.intake.contract import ID_RE

metadata = sa.MetaData()
sessions_table = sa.Table(
    "session_status",
    metadata,
    sa.Column("session_id", sa.String(64), primary_key=True),
    sa.Column("learner_id", sa.String(64), nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("media_key", sa.String(512), nullable=True),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # Added after the first release: _ensure_columns adds them to existing tables.
    sa.Column("run_id", sa.String(64), nullable=True),  # the run that last changed the state
    sa.Column("error_kind", sa.String(16), nullable=True),  # "permanent" | "transient" with FAILED
    sa.Column("pattern_counts", sa.Text, nullable=True),  # JSON {pattern_id: frequency} of its insights
    sa.Column("profile_digest", sa.String(64), nullable=True),  # digest of its stored profile snapshot
    sa.Column("upload_version", sa.String(128), nullable=True),  # content version the sensor last requested
    sa.Column(
        "result_version", sa.String(128), nullable=True
    ),  # content version the stored results came from
)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL + a busy timeout: the sensor and several run workers write concurrently.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see learner_lock)


def ensure_columns(engine: sa.Engine, table: sa.Table) -> None:
    """Add the columns of ``table`` that an existing database lacks (nullable, so no data moves).

    ``create_all`` only creates missing tables; deployments that created ``session_status`` with
    an older release get the new columns here, on the first start of the new code.
    """
    existing = {column["name"] for column in sa.inspect(engine).get_columns(table.name)}
    missing = [column for column in table.columns if column.name not in existing]
    if not missing:
        return
    with engine.begin() as conn:
        for column in missing:
            kind = column.type.compile(dialect=engine.dialect)
            conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}')


@dataclass(frozen=True)
class ProfileRow:
    """What profile maintenance needs of one session: its order, its pattern counts, its snapshot."""

    session_id: str
    recorded_at: datetime | None
    pattern_counts: dict[str, int] | None  # None: not known to the index (no insights, or older data)
    profile_digest: str | None  # None: no snapshot stored yet


class StatusStore:
    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(url, pool_pre_ping=True)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        metadata.create_all(self.engine)
        ensure_columns(self.engine, sessions_table)

    def register(
        self,
        session_id: str,
        learner_id: str,
        *,
        media_key: str | None,
        uploaded_at: datetime | None,
        version: str | None = None,
    ) -> bool:
        """Record a discovered session (or a new content version of it) as UPLOADED.

        Returns False, changing nothing, when the session is already known with this version: a
        replayed tick never resets a processed session. A new version of the same learner's
        session starts its lifecycle again; a row of another learner is never touched.
        """
        t = sessions_table
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(t.c.learner_id, t.c.upload_version).where(t.c.session_id == session_id)
            ).first()
            owned = row is not None and bool(ID_RE.fullmatch(row.learner_id)) and row.learner_id != learner_id
            if row is not None and (owned or version is None or row.upload_version == version):
                return False
            values = {
                "learner_id": learner_id,
                "state": SessionState.UPLOADED.value,
                "media_key": media_key,
                "uploaded_at": uploaded_at,
                "upload_version": version,
                "updated_at": utcnow(),
            }
            if row is None:
                conn.execute(t.insert().values(session_id=session_id, **values))
            else:
                conn.execute(
                    t.update()
                    .where(t.c.session_id == session_id)
                    .values(error=None, error_kind=None, **values)
                )
            return True

    def save_result_version(self, session_id: str, version: str) -> None:
        """Record which content version of the upload the session's stored results come from."""
        with self.engine.begin() as conn:
            conn.execute(
                sessions_table.update()
                .where(sessions_table.c.session_id == session_id)
                .values(result_version=version)
            )

    def set_state(
        self,
        session_id: str,
        state: SessionState,
        *,
        learner_id: str | None = None,
        error: str | None = None,
        error_kind: str | None = None,
        recorded_at: datetime | None = None,
        run_id: str | None = None,
    ) -> None:
        """Move a session to ``state`` (creating the row if needed); an error only sticks with FAILED."""
        values: dict[str, object] = {
            "state": state.value,
            "error": error,
            "error_kind": error_kind if state is SessionState.FAILED else None,
            "updated_at": utcnow(),
        }
        if recorded_at is not None:
            values["recorded_at"] = recorded_at
        if learner_id:
            values["learner_id"] = learner_id
        if run_id:
            values["run_id"] = run_id
        with self.engine.begin() as conn:
            updated = conn.execute(
                sessions_table.update().where(sessions_table.c.session_id == session_id).values(**values)
            ).rowcount
            if not updated:
                conn.execute(
                    sessions_table.insert().values(session_id=session_id, **{"learner_id": "", **values})
                )

    def get(self, session_id: str) -> SessionStatus | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(sessions_table).where(sessions_table.c.session_id == session_id)
            ).first()
        return _to_status(row) if row else None

    def get_many(self, session_ids: Iterable[str]) -> dict[str, SessionStatus]:
        """The rows of ``session_ids`` that exist, in one query."""
        ids = list(session_ids)
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(sessions_table).where(sessions_table.c.session_id.in_(ids)))
            return {row.session_id: _to_status(row) for row in rows}

    def list(
        self, *, learner_id: str | None = None, state: SessionState | None = None
    ) -> list[SessionStatus]:
        query = sa.select(sessions_table).order_by(sessions_table.c.learner_id, sessions_table.c.session_id)
        if learner_id is not None:
            query = query.where(sessions_table.c.learner_id == learner_id)
        if state is not None:
            query = query.where(sessions_table.c.state == state.value)
        with self.engine.connect() as conn:
            return [_to_status(row) for row in conn.execute(query)]

    def profile_rows(self, learner_id: str) -> list[ProfileRow]:
        """Every session of ``learner_id`` with its index columns, in one query."""
        t = sessions_table
        query = sa.select(t.c.session_id, t.c.recorded_at, t.c.pattern_counts, t.c.profile_digest).where(
            t.c.learner_id == learner_id
        )
        with self.engine.connect() as conn:
            return [
                ProfileRow(
                    row.session_id,
                    _aware(row.recorded_at),
                    json.loads(row.pattern_counts) if row.pattern_counts else None,
                    row.profile_digest,
                )
                for row in conn.execute(query)
            ]

    def save_pattern_counts(self, session_id: str, counts: dict[str, int], recorded_at: datetime) -> None:
        """Index a session's stored insights (called right after they are written)."""
        with self.engine.begin() as conn:
            conn.execute(
                sessions_table.update()
                .where(sessions_table.c.session_id == session_id)
                .values(pattern_counts=json.dumps(counts, sort_keys=True), recorded_at=recorded_at)
            )

    def save_profile_digests(self, digests: dict[str, str]) -> None:
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

    @contextmanager
    def learner_lock(self, learner_id: str) -> Iterator[None]:
        """Serialise profile maintenance of one learner across processes.

        Each insights write is followed by a profile pass under this lock, so the last pass always
        sees every stored analysis and snapshots converge whatever the run order. On PostgreSQL a
        session-level advisory lock on a connection of its own, so no transaction stays open while
        snapshots are written; SQLite lives on one machine, so a lock file does.
        """
        digest = hashlib.sha256(learner_id.encode()).digest()
        if not self.is_sqlite:
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

    def dispose(self) -> None:
        self.engine.dispose()


def _aware(value: datetime | None) -> datetime | None:
    # SQLite drops the zone; we store UTC.
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


def _to_status(row: sa.Row) -> SessionStatus:
    values = dict(row._mapping)
    for name in ("recorded_at", "uploaded_at", "updated_at"):
        values[name] = _aware(values[name])
    return SessionStatus.model_validate(values)

