"""The uploads sensor under Dagster: partitions, run requests, run keys, cursor, readiness and bad ids."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from assets.partitions import RANGE_END, RANGE_START
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from sensors.uploads import DAEMON_SENSOR_LOOP_SECONDS, declared_interval
from tests.support.materialize import offline_resource
from tests.support.sensor_ticks import offline_uploads_sensor, tick
from tests.support.sessions import add_session
from wiring.definitions import defs


@pytest.fixture
def instance():
    # dagster.yaml's run queue: 4 runs at once (the sensor spreads a burst over all 4)
    with dg.instance_for_test(overrides={"concurrency": {"runs": {"max_concurrent_runs": 4}}}) as instance:
        yield instance


@pytest.fixture
def sensor(monkeypatch: pytest.MonkeyPatch) -> dg.SensorDefinition:
    return offline_uploads_sensor(monkeypatch)


def test_ready_sessions_become_partitions_and_runs_keyed_by_session(
    sensor, instance, tmp_path: Path, uploads_dir: Path
) -> None:
    add_session(uploads_dir, "ana", "s1", text="Hello there.")
    add_session(uploads_dir, "ben", "s2", text="Hi.")
    add_session(uploads_dir, "ben", "s3", text="Still uploading.", manifest=None)  # not quiet yet
    resource = offline_resource(tmp_path, uploads_dir)
    data = tick(sensor, instance, resource)
    assert sorted(
        (r.run_key.split(":")[0], r.partition_key, r.tags["learner_id"]) for r in data.run_requests
    ) == [
        ("s1", "s1", "ana"),
        ("s2", "s2", "ben"),
    ]
    assert all(
        len(r.run_key.split(":")[1]) == 12 for r in data.run_requests
    )  # <session id>:<content version>
    [add] = data.dynamic_partitions_requests
    assert add.partitions_def_name == "sessions" and sorted(add.partition_keys) == ["s1", "s2"]
    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    assert status.get("s1").state is SessionState.UPLOADED and status.get("s3") is None
    registered = status.get("s1")
    assert registered.uploaded_at is not None and registered.upload_completed_at is not None
    assert registered.upload_completed_at <= registered.uploaded_at + timedelta(seconds=1)

    again = tick(sensor, instance, resource, cursor=data.cursor)
    assert again.run_requests == []  # the cursor moved past them; s3 still settling


def test_quiet_period_readiness(sensor, instance, tmp_path: Path, uploads_dir: Path) -> None:
    add_session(uploads_dir, "ana", "s3", text="Uploading.", manifest=None)
    resource = offline_resource(tmp_path, uploads_dir, quiet_seconds=0.0)
    assert [r.partition_key for r in tick(sensor, instance, resource).run_requests] == ["s3"]


def test_replay_of_an_old_cursor_requests_the_same_run_keys(
    sensor, instance, tmp_path: Path, uploads_dir: Path
) -> None:
    add_session(uploads_dir, "ana", "s1", text="Hello.")
    resource = offline_resource(tmp_path, uploads_dir)
    first = tick(sensor, instance, resource)
    instance.add_dynamic_partitions("sessions", ["s1"])
    replay = tick(sensor, instance, resource, cursor=None)
    assert [r.run_key for r in replay.run_requests] == [r.run_key for r in first.run_requests]
    assert [r.partition_key for r in replay.run_requests] == ["s1"]
    assert replay.dynamic_partitions_requests == []  # already a partition: not added twice


def test_invalid_ids_fail_visibly_and_never_stop_the_others(
    sensor, instance, tmp_path: Path, uploads_dir: Path
) -> None:
    add_session(uploads_dir, "ana", "bad.id", text="Hello.")
    add_session(uploads_dir, "ana", "good", text="Hello.")
    resource = offline_resource(tmp_path, uploads_dir)
    data = tick(sensor, instance, resource)
    assert [r.partition_key for r in data.run_requests] == ["good"]
    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    assert status.get("bad.id") is None  # not a session: recorded under its folder instead
    [rejection] = status.rejections.list()
    assert rejection.folder == "ana/bad.id" and "invalid session id" in rejection.reason


def test_same_session_id_under_two_learners_is_not_run_twice(
    sensor, instance, tmp_path: Path, uploads_dir: Path
) -> None:
    add_session(uploads_dir, "ana", "dup", text="Hello.")
    resource = offline_resource(tmp_path, uploads_dir)
    first = tick(sensor, instance, resource)
    add_session(uploads_dir, "ben", "dup", text="Hello.")
    second = tick(sensor, instance, resource, cursor=first.cursor)
    assert [r.partition_key for r in first.run_requests] == ["dup"] and second.run_requests == []
    assert StatusStore(f"sqlite:///{tmp_path}/status.db").get("dup").learner_id == "ana"


def test_definitions_load_with_in_process_executor(sensor) -> None:
    loaded = defs()
    job = loaded.get_job_def("session_job")
    assert job.executor_def.name == "in_process"
    assert {s.name for s in loaded.sensors} == {
        "uploads_sensor",
        "alerts_sensor",
        "session_run_failure_sensor",
        "session_run_canceled_sensor",
        "views_automation_sensor",
    }
    specs = {spec.key.to_user_string(): spec for spec in loaded.resolve_all_asset_specs()}
    assert set(specs) == {
        "transcript",
        "insights",
        "pattern_profile",
        "learner_progress",
        "cohort_patterns",
        "pipeline_health",
    }
    assert all(spec.description for spec in specs.values())


def test_a_burst_becomes_range_runs_over_the_keys_it_adds_and_a_lone_upload_its_own_run(
    sensor, instance, tmp_path: Path, uploads_dir: Path, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    monkeypatch.setenv("SENSOR_BATCH_SIZE", "4")
    for i in range(10):  # learner0 has 4 sessions, learner1 and learner2 3 each
        add_session(uploads_dir, f"learner{i % 3}", f"b{i}", text=f"Burst session {i}.")
    for learner in ("ana", "ben", "cat", "dan", "eve"):  # one session each
        add_session(uploads_dir, learner, f"one-{learner}", text="Only one.")
    resource = offline_resource(tmp_path, uploads_dir)
    data = tick(sensor, instance, resource)
    log = capfd.readouterr().err  # the sensor's context.log, as the tick log shows it
    [add] = data.dynamic_partitions_requests
    instance.add_dynamic_partitions("sessions", list(add.partition_keys))  # what the daemon does first
    keys = instance.get_dynamic_partitions("sessions")
    runs = {}
    for r in data.run_requests:
        if r.partition_key is None:
            start, end = r.tags[RANGE_START], r.tags[RANGE_END]
            members = tuple(keys[keys.index(start) : keys.index(end) + 1])
        else:
            members = (r.partition_key,)
        runs[members] = {t: v for t, v in r.tags.items() if not t.startswith("dagster/") or "priority" in t}
    # Spread over the 4 run slots (15 sessions, batches of up to 4, balanced: each learner to the
    # lightest batch), each learner's sessions in one batch and in order; a batch of one learner is
    # tagged with it (one run at a time per learner).
    live = {"dagster/priority": "10", "speaking/lane": "live"}  # before backfills, in the kept slot too
    assert runs == {
        ("b0", "b3", "b6", "b9"): {"learner_id": "learner0", **live},
        ("b1", "b4", "b7", "one-dan"): {"learners": "2", **live},
        ("b2", "b5", "b8", "one-eve"): {"learners": "2", **live},
        ("one-ana", "one-ben", "one-cat"): {"learners": "3", **live},
    }
    assert len(keys) == 15
    assert "15 session(s) ready" in log and "batched 4 run(s) / 15 session(s), 0 waiting, 0 rejected" in log
    add_session(uploads_dir, "ana", "lone", text="Just me.")
    lone = tick(sensor, instance, resource, cursor=data.cursor)
    [request] = lone.run_requests
    assert request.partition_key == "lone" and request.tags["learner_id"] == "ana"
    assert RANGE_START not in request.tags and request.tags["dagster/priority"] == "10"  # before backfills
    assert request.tags["speaking/lane"] == "live"  # may take the run slot kept from bulk runs


def test_a_burst_while_runs_go_is_spread_over_every_run_slot(
    sensor, instance, tmp_path: Path, uploads_dir: Path
) -> None:
    """Three of the four slots busy: the burst still makes four runs (one per worker), not one."""
    for i in range(3):
        instance.add_run(
            dg.DagsterRun(job_name="session_job", run_id=f"busy-{i}", status=dg.DagsterRunStatus.STARTED)
        )
    for learner in ("ana", "ben", "cat", "dan", "eve", "fay", "gus", "hal"):  # one session each
        add_session(uploads_dir, learner, f"one-{learner}", text="Only one.")
    data = tick(sensor, instance, offline_resource(tmp_path, uploads_dir))
    assert sorted(int(r.tags["learners"]) for r in data.run_requests) == [2, 2, 2, 2]


def test_a_changed_reupload_gets_a_new_run_key_and_an_identical_one_none(
    sensor, instance, tmp_path: Path, uploads_dir: Path
) -> None:
    folder = add_session(uploads_dir, "ana", "s1", text="First text.")
    resource = offline_resource(tmp_path, uploads_dir, quiet_seconds=0.0)
    first = tick(sensor, instance, resource)
    instance.add_dynamic_partitions("sessions", ["s1"])
    (folder / "transcript.txt").write_text("First text.")  # the same bytes, a new mtime
    same = tick(sensor, instance, resource, cursor=first.cursor)
    assert same.run_requests == []
    (folder / "transcript.txt").write_text("Corrected text.")
    changed = tick(sensor, instance, resource, cursor=same.cursor)
    [request] = changed.run_requests
    assert request.partition_key == "s1" and request.run_key != first.run_requests[0].run_key
    assert changed.dynamic_partitions_requests == []
    row = StatusStore(f"sqlite:///{tmp_path}/status.db").get("s1")
    assert row.state is SessionState.UPLOADED and row.upload_version.startswith("sha256:")


def test_the_declared_interval_lets_every_due_daemon_loop_tick(sensor) -> None:
    """Exactly 5 s made the daemon skip every other loop (the tick is stamped just after its loop
    began): the sensor declares 2 s less than the loop multiple asked for (SENSOR_INTERVAL_SECONDS)."""
    from dagster._daemon.sensor import MIN_INTERVAL_LOOP_TIME

    assert DAEMON_SENSOR_LOOP_SECONDS == MIN_INTERVAL_LOOP_TIME, "Dagster changed its sensor loop"
    assert [declared_interval(s) for s in (1, 5, 6, 10, 30)] == [3, 3, 8, 8, 28]
    assert sensor.minimum_interval_seconds == 3  # the default, 5 s: every loop
