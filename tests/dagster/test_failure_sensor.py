"""The run failure and cancel sensors: a run that fails outside the stages or is terminated still ends its sessions."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from assets.partitions import RANGE_END, RANGE_START
from pipeline.domain.models import SessionState
from pipeline.intake.tick import short_version
from pipeline.status.store import StatusStore
from sensors.failures import session_run_canceled_sensor, session_run_failure_sensor
from tests.support.materialize import materialize_sessions, offline_resource
from tests.support.sessions import add_session


def evaluate(instance, result, failure, resource) -> None:  # type: ignore[no-untyped-def]
    with dg.build_run_status_sensor_context(
        sensor_name=session_run_failure_sensor.name,
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"pipeline": resource},
    ) as context:
        session_run_failure_sensor(context.for_run_failure())


def test_a_run_failing_before_any_stage_marks_its_session_failed(tmp_path: Path, uploads_dir: Path) -> None:
    add_session(uploads_dir, "ana", "s1", text="Hello there.")
    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    status.register("s1", "ana", media_key="ana/s1/transcript.txt", uploaded_at=None)
    broken = offline_resource(tmp_path, uploads_dir, audio_retention="sometimes")  # invalid configuration
    with dg.instance_for_test() as instance:
        [result] = materialize_sessions(instance, broken, ["s1"])
        assert not result.success
        starts = [e for e in result.all_events if e.event_type_value == "STEP_START"]
        assert len(starts) == 1, "a configuration error is not retried"
        assert status.get("s1").state is SessionState.UPLOADED  # no stage ran
        failure = next(e for e in result.all_events if e.is_run_failure)
        evaluate(instance, result, failure, offline_resource(tmp_path, uploads_dir))
    failed = status.get("s1")
    assert failed.state is SessionState.FAILED and failed.error.startswith(f"run {result.run_id[:8]} failed")


def test_sessions_already_failed_or_done_are_left_alone(tmp_path: Path, uploads_dir: Path) -> None:
    add_session(uploads_dir, "ana", "s2", text="")  # fails permanently inside the stage
    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    with dg.instance_for_test() as instance:
        [result] = materialize_sessions(instance, offline_resource(tmp_path, uploads_dir), ["s2"])
        failure = next(e for e in result.all_events if e.is_run_failure)
        evaluate(instance, result, failure, offline_resource(tmp_path, uploads_dir))
    assert "empty" in status.get("s2").error  # the stage's own reason is kept


def test_a_failed_batch_run_marks_every_unfinished_session_of_its_range(
    tmp_path: Path, uploads_dir: Path
) -> None:
    keys = ["b1", "b2", "b3"]
    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    for key in keys:
        add_session(uploads_dir, "ana", key, text="Hello there.")
        status.register(key, "ana", media_key=f"ana/{key}/transcript.txt", uploaded_at=None)
    status.set_state("b2", SessionState.DONE)  # finished earlier: a dead run does not undo it
    broken = offline_resource(tmp_path, uploads_dir, audio_retention="sometimes")
    with dg.instance_for_test() as instance:
        [result] = materialize_sessions(instance, broken, keys, batch=True)
        assert not result.success and "dagster/partition" not in result.dagster_run.tags
        failure = next(e for e in result.all_events if e.is_run_failure)
        evaluate(instance, result, failure, offline_resource(tmp_path, uploads_dir))
    assert status.get("b2").state is SessionState.DONE
    for key in ("b1", "b3"):
        failed = status.get(key)
        assert failed.state is SessionState.FAILED and "failed before this session finished" in failed.error


def test_a_terminated_batch_run_marks_the_sessions_it_never_finished(
    tmp_path: Path, uploads_dir: Path
) -> None:
    keys = ["t1", "t2", "t3"]
    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    for key in keys:
        status.register(key, "ana", media_key=f"ana/{key}/transcript.txt", uploaded_at=None)
    status.set_state("t1", SessionState.DONE)  # finished before the user pressed Terminate
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("sessions", keys)
        run = instance.add_run(
            dg.DagsterRun(
                job_name="session_job",
                tags={RANGE_START: "t1", RANGE_END: "t3"},
                status=dg.DagsterRunStatus.CANCELING,
            )
        )
        instance.report_run_canceled(run)
        [canceled] = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_CANCELED)
        with dg.build_run_status_sensor_context(
            sensor_name=session_run_canceled_sensor.name,
            dagster_event=canceled.dagster_event,
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(run.run_id),
            resources={"pipeline": offline_resource(tmp_path, uploads_dir)},
        ) as context:
            session_run_canceled_sensor(context)
    assert status.get("t1").state is SessionState.DONE
    for key in ("t2", "t3"):
        stopped = status.get(key)
        assert stopped.state is SessionState.FAILED and stopped.error_kind == "transient"
        assert stopped.error.startswith(f"interrupted: run {run.run_id[:8]} was terminated")


# Where a queued run says its job comes from (required of queued runs; nothing loads it here).
ORIGIN = RemoteJobOrigin(
    RemoteRepositoryOrigin(
        InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="wiring.definitions")), "__repository__"
    ),
    "session_job",
)
QUEUED = {"run_coordinator": {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"}}


def test_a_run_terminated_while_queued_fails_its_session_unless_a_re_upload_owns_it_now(
    tmp_path: Path, uploads_dir: Path
) -> None:
    """Issue 18: a run canceled from the queue; a re-upload's newer run owns the session (run_id reset)."""
    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    resource = offline_resource(tmp_path, uploads_dir)
    status.register("q1", "ana", media_key="ana/q1/transcript.txt", uploaded_at=None, version="v1")
    with dg.instance_for_test(overrides=QUEUED) as instance:

        def queued(
            version: str,
        ) -> dg.DagsterRun:  # what the uploads sensor requests for this version, queued
            return instance.add_run(
                dg.DagsterRun(
                    job_name="session_job",
                    status=dg.DagsterRunStatus.QUEUED,
                    remote_job_origin=ORIGIN,
                    tags={"dagster/partition": "q1", "dagster/run_key": f"q1:{short_version(version)}"},
                )
            )

        def cancel(run: dg.DagsterRun) -> None:  # the UI's Terminate on a queued run
            assert run.status is dg.DagsterRunStatus.QUEUED and instance.run_coordinator.cancel_run(
                run.run_id
            )
            [canceled] = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_CANCELED)
            with dg.build_run_status_sensor_context(
                sensor_name=session_run_canceled_sensor.name,
                dagster_event=canceled.dagster_event,
                dagster_instance=instance,
                dagster_run=instance.get_run_by_id(run.run_id),
                resources={"pipeline": resource},
            ) as context:
                session_run_canceled_sensor(context)

        first = queued("v1")
        status.register("q1", "ana", media_key="ana/q1/transcript.txt", uploaded_at=None, version="v2")
        second = queued("v2")
        cancel(first)  # the v1 run is gone, but the session is v2's now
        waiting = status.get("q1")
        assert waiting.state is SessionState.UPLOADED and waiting.run_id is None
        cancel(second)
    stopped = status.get("q1")
    assert stopped.state is SessionState.FAILED and stopped.run_id == second.run_id
    assert stopped.error.startswith(f"interrupted: run {second.run_id[:8]} was terminated")
