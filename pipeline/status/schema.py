"""The status database's tables and how a database is opened (and migrated, see ``migrations``).

One SQLAlchemy ``MetaData`` holds every table of the status database (the session rows, the
rejected uploads, and the upload registry's tables, which ``pipeline.intake.registry`` adds to it),
so the code has one view of them; their schema is created and upgraded by the Alembic revisions
in ``pipeline.status.migrations``. SQLite by default, PostgreSQL in production
(``STATUS_DB_URL``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

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
    # Added after the first release (revision 0001 adds them to databases that lack them).
    sa.Column("run_id", sa.String(64), nullable=True),  # the run that last changed the state
    sa.Column("error_kind", sa.String(16), nullable=True),  # "permanent" | "transient" with FAILED
    sa.Column("pattern_counts", sa.Text, nullable=True),  # JSON {pattern_id: frequency} of its insights
    sa.Column("profile_digest", sa.String(64), nullable=True),  # digest of its stored profile snapshot
    sa.Column("upload_version", sa.String(128), nullable=True),  # content version the sensor last requested
    sa.Column(
        "result_version", sa.String(128), nullable=True
    ),  # content version the stored results came from
    # Revision 0002: when the upload was complete (pipeline.intake.discovery.upload_completed_at)
    # and the stored transcript's words.
    sa.Column("upload_completed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("word_count", sa.Integer, nullable=True),
)

rejections_table = sa.Table(
    "upload_rejections",
    metadata,
    sa.Column("folder", sa.String(1024), primary_key=True),  # as uploaded, never truncated
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL + a busy timeout: the sensor and several run workers write concurrently.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")  # first: switching to WAL waits for another opener
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see learner_lock)


def open_engine(url: str) -> sa.Engine:
    """An engine on ``url`` with the schema at the newest revision (``migrations.upgrade``)."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    from pipeline.status import migrations  # imports alembic only where a database is opened

    migrations.upgrade(engine)
    return engine


def aware(value: datetime | None) -> datetime | None:
    """SQLite drops the zone of a stored datetime; every datetime here is UTC."""
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value
