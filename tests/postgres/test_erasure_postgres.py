"""Erasure with the status store and the Dagster instance on PostgreSQL: no row names the erased ids."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from pipeline.status.store import StatusStore
from tests.support.erasure import ANA, ANA_2, BOB, carriers
from tests.support.materialize import materialize_sessions, offline_resource
from tests.support.sessions import add_session
from wiring.erasure import erasure_job

pytestmark = pytest.mark.postgres
IDS = re.compile(r"(?<![A-Za-z0-9_-])(?:annika|ann-s1|ann-s2)(?![A-Za-z0-9_-])")


def rows_naming_ids(url: str) -> list[str]:
    """``table: row`` for every row of every table whose text names an erased id or phrase."""
    engine = sa.create_engine(url)
    found = []
    try:
        with engine.connect() as conn:
            for table in sa.inspect(conn).get_table_names():
                for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                    text = " ".join(
                        v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row
                    )
                    if IDS.search(text) or "zanzibar" in text or "quokka" in text:
                        found.append(f"{table}: {text[:200]}")
    finally:
        engine.dispose()
    return found


def test_erasure_on_postgres(fresh_database: str, tmp_path: Path) -> None:
    uploads, home = tmp_path / "uploads", tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(f"storage:\n  postgres:\n    postgres_url: {fresh_database}\n")
    for learner, session, text in (
        ("annika", "ann-s1", ANA),
        ("annika", "ann-s2", ANA_2),
        ("bobby", "bob-s1", BOB),
    ):
        add_session(uploads, learner, session, text=text)
    resource = offline_resource(tmp_path, uploads, status_db_url=fresh_database)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        instance.add_dynamic_partitions("sessions", ["ann-s1"])
        [single] = materialize_sessions(instance, resource, ["ann-s1"])
        instance.add_run_tags(single.run_id, {"learner_id": "annika"})
        materialize_sessions(instance, resource, ["ann-s2", "bob-s1"], batch=True)
        assert rows_naming_ids(fresh_database)

        config = {"ops": {"erase": {"config": {"learner_id": "annika", "dry_run": False}}}}
        assert erasure_job.execute_in_process(
            run_config=config, instance=instance, resources={"pipeline": resource}
        ).success
        assert rows_naming_ids(fresh_database) == []
        assert carriers(tmp_path, ["annika", "ann-s1", "ann-s2"], ["zanzibar", "quokka"]) == []
        assert instance.get_dynamic_partitions("sessions") == ["bob-s1"]
        assert instance.get_materialized_partitions(dg.AssetKey("pattern_profile")) == {"bob-s1"}
    status = StatusStore(fresh_database)
    try:
        assert [s.session_id for s in status.list()] == ["bob-s1"]
    finally:
        status.dispose()
