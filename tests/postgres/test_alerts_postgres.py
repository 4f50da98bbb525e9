"""The alerts sensor on a PostgreSQL Dagster instance and status store: one message per failed run, freshness too."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

from pipeline.status.store import StatusStore
from sensors.alerts import build_alerts_sensor
from tests.support.alert_sinks import webhook_sink
from tests.support.materialize import materialize_sessions, offline_resource
from tests.support.sessions import add_session
from wiring.alerts import AlertsResource

pytestmark = pytest.mark.postgres


def test_failed_runs_and_freshness_are_told_once_on_postgres(
    fresh_database: str, tmp_path: Path, uploads_dir: Path
) -> None:
    pipeline = offline_resource(tmp_path, uploads_dir, status_db_url=fresh_database)
    for key in ("p1", "p2"):
        add_session(uploads_dir, "ana", key, text="")
    storage = {"storage": {"postgres": {"postgres_url": fresh_database}}}
    with webhook_sink() as sink, dg.instance_for_test(overrides=storage) as instance:
        resources = {"alerts": AlertsResource(webhook_url=sink.url, attempts=1), "pipeline": pipeline}

        def tick(cursor: str | None) -> str | None:
            with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
                build_alerts_sensor(True)(context)
                return context.cursor

        cursor = tick(None)
        runs = materialize_sessions(instance, pipeline, ["p1", "p2"])
        instance.report_runless_asset_event(
            FreshnessStateChange(
                key=dg.AssetKey("learner_progress"),
                previous_state=FreshnessState.PASS,
                new_state=FreshnessState.FAIL,
                state_change_timestamp=time.time(),
            )
        )
        cursor = tick(cursor)
        tick(cursor)
    assert [t.split("\n")[0] for t in sink.texts] == [
        *(
            f"[speaking-pipeline] Run {r.run_id[:8]} of __ephemeral_asset_job__ failed: 1 session FAILED"
            for r in runs
        ),
        "[speaking-pipeline] Freshness FAIL: learner_progress",
    ]
    failed = StatusStore(fresh_database).failed_in_runs([runs[0].run_id])
    assert [s.session_id for s in failed] == ["p1"]
