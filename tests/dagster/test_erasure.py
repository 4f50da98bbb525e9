"""erasure_job and python -m wiring.erasure on one on-disk instance: nothing stored carries the erased ids."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import (
    DynamicPartitionsRequestResult,
    InstigatorType,
    TickData,
    TickStatus,
)

from assets.views import analyst_views
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.materialize import materialize_sessions, offline_resource
from tests.support.sessions import add_session
from wiring.erasure import erasure_job, main
from wiring.resources import PipelineResource

ANA = "Yesterday I go to the zanzibar market and I buy a apple. Um, it was very very good. She don't like it."
ANA_2 = "Last week I goes to the quokka museum with my brother. It were very interesting, you know, very."
BOB = "On Monday I visit my grandmother and we cooks dinner together. He don't like fish, um, at all."
CAROL = "This morning I has a meeting with the narwhal team and we discuss about the plan for weeks."
CAROL_2 = "In the evening I plays football with friends and we was very tired after, but happy."
PROFILE = dg.AssetKey("pattern_profile")


def carriers(root: Path, ids: list[str], phrases: list[str]) -> list[str]:
    """Files under ``root`` whose bytes hold an id (as a whole token) or a phrase."""
    pattern = re.compile(
        rb"(?<![A-Za-z0-9_-])(?:" + b"|".join(re.escape(i.encode()) for i in ids) + rb")(?![A-Za-z0-9_-])"
    )
    return [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file()
        and (pattern.search(b := path.read_bytes()) or any(p.encode() in b for p in phrases))
    ]


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
