"""erasure_job and python -m wiring.erasure on one on-disk instance: nothing stored carries the erased ids."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteInstigatorOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.scheduler.instigation import (
    DynamicPartitionsRequestResult,
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    SensorInstigatorData,
    TickData,
    TickStatus,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from assets.views import analyst_views
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.erasure import ANA, ANA_2, BOB, CAROL, CAROL_2, carriers
from tests.support.materialize import materialize_sessions, offline_resource
from tests.support.sessions import add_session
from wiring.erasure import erasure_job, main
from wiring.resources import PipelineResource

PROFILE = dg.AssetKey("pattern_profile")


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, dg.DagsterInstance, PipelineResource]]:
    root = tmp_path_factory.mktemp("erasure")
    uploads, home = root / "uploads", root / "dagster_home"
    home.mkdir()
    for learner, session, text, day in (
        ("annika", "ann-s1", ANA, 3),
        ("annika", "ann-s2", ANA_2, 4),
        ("bobby", "bob-s1", BOB, 4),
        ("carla", "car-s1", CAROL, 3),
        ("carla", "car-s2", CAROL_2, 5),
    ):
        add_session(
            uploads, learner, session, text=text, manifest=f'{{"recorded_at": "2026-01-0{day}T09:00:00Z"}}'
        )
    resource = offline_resource(root, uploads)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("sessions", ["ann-s1"])
        [single] = materialize_sessions(instance, resource, ["ann-s1"])  # a run of annika's alone
        instance.add_run_tags(single.run_id, {"learner_id": "annika"})
        materialize_sessions(instance, resource, ["ann-s2", "bob-s1"], batch=True)  # shared with bobby
        materialize_sessions(instance, resource, ["car-s1", "car-s2"])
        dg.materialize([analyst_views], instance=instance, resources={"pipeline": resource})
        instance.create_tick(  # a sensor tick as the daemon stores it: it added annika's partitions
            TickData(
                instigator_origin_id="origin",
                instigator_name="uploads_sensor",
                instigator_type=InstigatorType.SENSOR,
                status=TickStatus.SUCCESS,
                timestamp=time.time(),
                run_ids=[single.run_id],
                run_keys=["ann-s1:sha256:1", "bob-s1:sha256:2"],
                dynamic_partitions_request_results=[
                    DynamicPartitionsRequestResult("sessions", ["ann-s1", "bob-s1"], None, [])
                ],
            )
        )
        # A sensor's cursor as the alerts sensor keeps it: undelivered messages, one naming annika.
        location = InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="wiring.definitions"))
        origin = RemoteInstigatorOrigin(RemoteRepositoryOrigin(location, "__repository__"), "alerts_sensor")
        outbox = {"webhook": [{"text": "session ann-s1 FAILED"}, {"text": "session bob-s1 FAILED"}]}
        instance.add_instigator_state(
            InstigatorState(
                origin,
                InstigatorType.SENSOR,
                InstigatorStatus.RUNNING,
                SensorInstigatorData(cursor=json.dumps({"after": 7, "outbox": outbox})),
            )
        )
        for backfill_id, keys in (("bfann", ["ann-s1", "bob-s1"]), ("bfcar", ["car-s1", "car-s2"])):
            instance.add_backfill(
                PartitionBackfill(
                    backfill_id,
                    BulkActionStatus.COMPLETED_SUCCESS,
                    from_failure=False,
                    tags={},
                    backfill_timestamp=time.time(),
                    partition_names=keys,
                )
            )
        yield root, instance, resource


def test_erasure_job_dry_run_deletes_nothing_then_erases_every_byte(
    world: tuple[Path, dg.DagsterInstance, PipelineResource],
) -> None:
    root, instance, resource = world
    assert carriers(root, ["annika", "ann-s1", "ann-s2"], ["zanzibar", "quokka"])
    config = {"ops": {"erase": {"config": {"learner_id": "annika"}}}}  # dry_run defaults to true
    dry = erasure_job.execute_in_process(
        run_config=config, instance=instance, resources={"pipeline": resource}
    )
    assert dry.success and instance.has_dynamic_partition("sessions", "ann-s1")
    said = [e.user_message for e in instance.all_logs(dry.run_id) if "erasure" in e.user_message]
    assert any("[dry run: nothing deleted]" in line and "sessions 2" in line for line in said), said
    assert (root / "uploads" / "annika").is_dir() and (
        root / "results" / "transcripts" / "ann-s1.json"
    ).exists()

    config["ops"]["erase"]["config"]["dry_run"] = False
    done = erasure_job.execute_in_process(
        run_config=config, instance=instance, resources={"pipeline": resource}
    )
    assert done.success
    assert carriers(root, ["annika", "ann-s1", "ann-s2"], ["zanzibar", "quokka"]) == []
    assert instance.get_dynamic_partitions("sessions") == ["bob-s1", "car-s1", "car-s2"]
    # Bobby, who shared a run with annika, keeps his materialization, partition and results.
    event = instance.get_latest_materialization_event(PROFILE)
    assert event is not None
    status = StatusStore(f"sqlite:///{root}/status.db")
    assert status.get("bob-s1").state is SessionState.DONE
    assert instance.get_materialized_partitions(PROFILE) == {"bob-s1", "car-s1", "car-s2"}
    assert [b.backfill_id for b in instance.get_backfills()] == ["bfcar"]  # the record naming annika went
    [state] = instance.all_instigator_state()  # the cursor keeps bobby's message only
    cursor = json.loads(state.instigator_data.cursor)  # type: ignore[union-attr]
    assert cursor == {"after": 7, "outbox": {"webhook": [{"text": "session bob-s1 FAILED"}]}}
    # The views' files are rewritten at once; their materializations named annika, so they are
    # missing until the automation sensor materializes them again.
    assert instance.get_latest_materialization_event(dg.AssetKey("learner_progress")) is None
    # Both erasure runs stay, with their config's id blanked.
    runs = instance.get_runs(dg.RunsFilter(job_name="erasure_job"))
    assert len(runs) == 2 and all(
        r.run_config["ops"]["erase"]["config"]["learner_id"] == "erased" for r in runs
    )


def test_the_command_erases_one_session_and_is_idempotent(
    world: tuple[Path, dg.DagsterInstance, PipelineResource],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, instance, _ = world
    monkeypatch.setenv("DAGSTER_HOME", str(instance.root_directory))
    monkeypatch.setenv("UPLOADS_URI", str(root / "uploads"))
    monkeypatch.setenv("RESULTS_URI", str(root / "results"))
    monkeypatch.setenv("STATUS_DB_URL", f"sqlite:///{root}/status.db")
    assert main(["--session", "car-s1", "--apply"]) == 0
    assert carriers(root, ["car-s1"], ["narwhal"]) == []
    assert instance.get_materialized_partitions(PROFILE) == {"bob-s1", "car-s2"}
    assert (
        json.loads((root / "results" / "pattern_profiles" / "car-s2.json").read_text())["sessions_count"] == 1
    )
    capsys.readouterr()
    assert main(["--session", "car-s1", "--apply"]) == 0
    again = capsys.readouterr().out
    assert '"sessions": 1' in again and '"result_documents": 0' in again and '"runs_deleted": 0' in again
    # A run of the session still going stops its erasure (that run would write it again); nothing is deleted.
    queued = dg.DagsterRun(
        job_name="session_job", status=dg.DagsterRunStatus.STARTED, tags={"dagster/partition": "car-s2"}
    )
    instance.add_run(queued)
    assert main(["--session", "car-s2", "--apply"]) == 2
    assert "queued or going" in capsys.readouterr().err
    assert instance.has_dynamic_partition("sessions", "car-s2") and instance.get_run_by_id(queued.run_id)
    instance.delete_run(queued.run_id)
    # So does a views refresh going on: it read the session's rows before and would write them back.
    views = dg.DagsterRun(
        job_name="__ASSET_JOB",
        status=dg.DagsterRunStatus.STARTED,
        asset_selection=frozenset({dg.AssetKey("learner_progress")}),
    )
    instance.add_run(views)
    assert main(["--session", "car-s2", "--apply"]) == 2
    instance.delete_run(views.run_id)
