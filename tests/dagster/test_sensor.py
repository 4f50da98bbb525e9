"""The uploads sensor under Dagster: partitions, run requests, run keys, cursor, readiness and bad ids."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from pipeline.definitions import defs
from pipeline.models import SessionState
from pipeline.status import StatusStore
from tests.conftest import add_session
from tests.dagster.helpers import offline_resource


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def sensor(monkeypatch: pytest.MonkeyPatch) -> dg.SensorDefinition:
    monkeypatch.setenv("STT_PROVIDER", "offline")
    monkeypatch.setenv("ANALYZER_PROVIDER", "offline")
    return defs().get_sensor_def("uploads_sensor")


def tick(sensor, instance, resource, cursor=None):
    # Invoking the sensor returns its SensorResult as the daemon receives it.
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"pipeline": resource}) as context:
        return sensor(context)


def test_ready_sessions_become_partitions_and_runs_keyed_by_session(
    sensor, instance, tmp_path: Path, uploads_dir: Path
) -> None:
    add_session(uploads_dir, "ana", "s1", text="Hello there.")
    add_session(uploads_dir, "ben", "s2", text="Hi.")
    add_session(uploads_dir, "ben", "s3", text="Still uploading.", manifest=None)  # not quiet yet
    resource = offline_resource(tmp_path, uploads_dir)
    data = tick(sensor, instance, resource)
    assert sorted((r.run_key, r.partition_key, r.tags["learner_id"]) for r in data.run_requests) == [
        ("s1", "s1", "ana"),
        ("s2", "s2", "ben"),
    ]
    [add] = data.dynamic_partitions_requests
    assert add.partitions_def_name == "sessions" and sorted(add.partition_keys) == ["s1", "s2"]
    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    assert status.get("s1").state is SessionState.UPLOADED and status.get("s3") is None
    assert status.get("s1").uploaded_at is not None

    again = tick(sensor, instance, resource, cursor=data.cursor)
    assert again.run_requests == []  # the cursor moved past them; s3 still settling


def test_quiet_period_readiness(sensor, instance, tmp_path: Path, uploads_dir: Path) -> None:
    add_session(uploads_dir, "ana", "s3", text="Uploading.", manifest=None)
    resource = offline_resource(tmp_path, uploads_dir, quiet_seconds=0.0)
    assert [r.run_key for r in tick(sensor, instance, resource).run_requests] == ["s3"]


def test_replay_of_an_old_cursor_requests_the_same_run_keys(
    sensor, instance, tmp_path: Path, uploads_dir: Path
) -> None:
    add_session(uploads_dir, "ana", "s1", text="Hello.")
    resource = offline_resource(tmp_path, uploads_dir)
    first = tick(sensor, instance, resource)
    instance.add_dynamic_partitions("sessions", ["s1"])
    replay = tick(sensor, instance, resource, cursor=None)
    assert [r.run_key for r in replay.run_requests] == [r.run_key for r in first.run_requests] == ["s1"]
    assert replay.dynamic_partitions_requests == []  # already a partition: not added twice


def test_invalid_ids_fail_visibly_and_never_stop_the_others(
    sensor, instance, tmp_path: Path, uploads_dir: Path
) -> None:
    add_session(uploads_dir, "ana", "bad.id", text="Hello.")
    add_session(uploads_dir, "ana", "good", text="Hello.")
    resource = offline_resource(tmp_path, uploads_dir)
    data = tick(sensor, instance, resource)
    assert [r.run_key for r in data.run_requests] == ["good"]
    failed = StatusStore(f"sqlite:///{tmp_path}/status.db").get("bad.id")
    assert failed.state is SessionState.FAILED and "invalid session id" in failed.error


def test_same_session_id_under_two_learners_is_not_run_twice(
    sensor, instance, tmp_path: Path, uploads_dir: Path
) -> None:
    add_session(uploads_dir, "ana", "dup", text="Hello.")
    resource = offline_resource(tmp_path, uploads_dir)
    first = tick(sensor, instance, resource)
    add_session(uploads_dir, "ben", "dup", text="Hello.")
    second = tick(sensor, instance, resource, cursor=first.cursor)
    assert [r.run_key for r in first.run_requests] == ["dup"] and second.run_requests == []
    assert StatusStore(f"sqlite:///{tmp_path}/status.db").get("dup").learner_id == "ana"


def test_definitions_load_with_in_process_executor(sensor) -> None:
    loaded = defs()
    job = loaded.get_job_def("session_job")
    assert job.executor_def.name == "in_process"
    assert {s.name for s in loaded.sensors} == {"uploads_sensor", "session_run_failure_sensor", "views_automation_sensor"}
    specs = {spec.key.to_user_string(): spec for spec in loaded.resolve_all_asset_specs()}
    assert set(specs) == {"transcript", "insights", "pattern_profile", "learner_progress", "cohort_patterns"}
    assert all(spec.description for spec in specs.values())
