"""Schema migrations of the status database (status store and upload registry), with Alembic.

Revisions live in ``versions/`` (``0001`` is the schema as it was when migrations began; later ones
``0002``... chain on it). The version table is ``speaking_schema_version``. ``upgrade`` runs
Alembic programmatically on an open engine, so no ``alembic.ini`` is needed at run time; it is
called by ``open_engine`` on every start (a no-op when the database is at head) and by
``python -m pipeline.status.migrations upgrade`` for operators who migrate before deploying.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

VERSION_TABLE = "speaking_schema_version"
_HERE = Path(__file__).parent
# Any fixed number: serialises concurrent upgrades (sensor, run workers) on PostgreSQL.
_PG_LOCK_KEY = 7_221_021


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    return config


def head() -> str:
    """The newest revision this code knows."""
    rev = ScriptDirectory.from_config(_config()).get_current_head()
    assert rev is not None
    return rev


def current(engine: sa.Engine) -> str | None:
    """The revision the database is at (None before the first migration ran on it)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``, in one transaction; nothing to do when it is there."""
    if revision == "head" and current(engine) == head():
        return
    config = _config()
    with engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE (see schema), so one writer migrates
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Step the database back to ``revision`` (for tests and emergencies; data in dropped columns is lost)."""
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
