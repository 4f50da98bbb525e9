"""Status-store migrations (Alembic) on SQLite: a new database, and one from before migrations with rows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from pipeline.domain.models import SessionState
from pipeline.intake.registry import UploadRegistry
from pipeline.status import migrations
from pipeline.status.migrations import VERSION_TABLE
from pipeline.status.store import StatusStore
from tests.support import legacy_schema


def check_upgraded_legacy(url: str) -> None:
    """Shared with the PostgreSQL test: build the old schema with rows, open it, and count every row."""
    legacy_schema.build(url)
    store = StatusStore(url)
    try:
        assert migrations.current(store.engine) == migrations.head()
        columns = {c["name"] for c in sa.inspect(store.engine).get_columns("session_status")}
        assert {"error_kind", "pattern_counts", "result_version", "upload_version"} <= columns
        assert {"upload_completed_at", "word_count"} <= columns  # revision 0002
        with store.engine.connect() as conn:
            for table, rows in [
                ("session_status", legacy_schema.SESSIONS),
                ("upload_registry", legacy_schema.SESSIONS),
                ("upload_rejections", 1),
                ("upload_feed_state", 1),
            ]:
                assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == rows
        failed = store.get("s000")
        assert failed is not None and failed.state is SessionState.FAILED and failed.run_id == "run-0"
        assert failed.error == "audio.wav could not be decoded"
        store.set_state("s000", SessionState.DONE)  # the new columns are written to
        registry = UploadRegistry(store.engine)
        assert registry.feed_state(4) == {}
        assert [r.folder for r in store.rejections.list()] == ["bad folder/x"]
    finally:
        store.dispose()


def test_new_database_is_at_head(tmp_path: Path) -> None:
    store = StatusStore(f"sqlite:///{tmp_path / 'status.db'}")
    try:
        assert migrations.current(store.engine) == migrations.head()
        names = set(sa.inspect(store.engine).get_table_names())
        assert {
            "session_status",
            "upload_rejections",
            "upload_registry",
            "upload_feed_state",
            VERSION_TABLE,
        } <= names
    finally:
        store.dispose()


def test_upgrade_from_the_schema_before_migrations_keeps_every_row(tmp_path: Path) -> None:
    check_upgraded_legacy(f"sqlite:///{tmp_path / 'status.db'}")


def test_second_open_is_a_no_op_and_downgrade_round_trips(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'status.db'}"
    StatusStore(url).dispose()
    store = StatusStore(url)
    try:
        migrations.downgrade(store.engine, "0001")
        columns = {c["name"] for c in sa.inspect(store.engine).get_columns("session_status")}
        assert "upload_completed_at" not in columns and "word_count" not in columns
        migrations.downgrade(store.engine, "base")
        assert migrations.current(store.engine) is None
        migrations.upgrade(store.engine)
        assert migrations.current(store.engine) == migrations.head()
    finally:
        store.dispose()


def test_documented_command_migrates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'status.db'}"
    legacy_schema.build(url)
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.status.migrations", "upgrade"],
        env={"STATUS_DB_URL": url, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path.cwd())},
        capture_output=True,
        text=True,
        check=True,
    )
    head = migrations.head()
    assert done.stdout.strip() == f"{head} (head {head})"
