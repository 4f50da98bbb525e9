"""The run queue keeps a slot for live uploads: Dagster's QueuedRunCoordinator daemon with each dagster.yaml's limits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.test_utils import create_run_for_test
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import EmptyWorkspaceTarget
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

from tests.support.materialize import offline_resource
from tests.support.sensor_ticks import offline_uploads_sensor, tick
from tests.support.sessions import add_session
from wiring.jobs import reanalysis_job, session_job, views_automation_sensor

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = [ROOT / "dagster.yaml", *(ROOT / "deploy" / p / "dagster.yaml" for p in ("", "k8s", "celery"))]
IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


@contextmanager
def queue_of(path: Path) -> Iterator[tuple[dg.DagsterInstance, WorkspaceProcessContext, int]]:
    """An instance with ``path``'s run coordinator and run limits; runs are launched by Dagster's
    ``MockedRunLauncher``, which starts no process, so a dequeued run stays STARTING (in progress)."""
    config = yaml.safe_load(path.read_text())
    overrides = {
        "run_coordinator": config["run_coordinator"],
        "concurrency": {"runs": config["concurrency"]["runs"]},
        "run_launcher": {"module": "dagster._core.test_utils", "class": "MockedRunLauncher"},
    }
    with (
        dg.instance_for_test(overrides=overrides) as instance,
        WorkspaceProcessContext(instance, EmptyWorkspaceTarget()) as workspace,
    ):
        yield instance, workspace, config["concurrency"]["runs"]["max_concurrent_runs"]


def dequeue(daemon: QueuedRunCoordinatorDaemon, workspace: WorkspaceProcessContext) -> None:
    """One pass of the daemon's run queue, as ``dagster-daemon run`` makes every second."""
    list(daemon.run_iteration(workspace))


def in_progress(instance: dg.DagsterInstance) -> dict[str, int]:
    """Runs in progress by the kind the test gave them (its ``kind`` tag)."""
    kinds: dict[str, int] = {}
    for run in instance.get_runs(dg.RunsFilter(statuses=IN_PROGRESS)):
        kinds[run.tags["kind"]] = kinds.get(run.tags["kind"], 0) + 1
    return kinds


def queue(instance: dg.DagsterInstance, job: str, tags: dict[str, Any], kind: str, count: int = 1) -> None:
    """Queue ``count`` runs of ``job`` (as submitted: no worker ever runs them)."""
    repository = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("speaking"), "__repository__")
    for _ in range(count):
        create_run_for_test(
            instance,
            job_name=job,
            status=dg.DagsterRunStatus.QUEUED,
            tags={**tags, "kind": kind},
            remote_job_origin=RemoteJobOrigin(repository, job),
        )


@pytest.fixture
def live_tags(tmp_path: Path, uploads_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The tags of a lone upload's run: the real sensor's request over session_job's own tags, merged
    as the daemon merges them (the request's win)."""
    add_session(uploads_dir, "ana", "lone", text="Just me.")
    with dg.instance_for_test() as instance:
        [request] = tick(
            offline_uploads_sensor(monkeypatch), instance, offline_resource(tmp_path, uploads_dir)
        ).run_requests
    return {**session_job.tags, **request.tags}


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_backfill_and_views_runs_leave_a_slot_that_a_sensor_run_takes(
    path: Path, live_tags: dict[str, str]
) -> None:
    with (
        queue_of(path) as (instance, workspace, slots),
        QueuedRunCoordinatorDaemon(interval_seconds=1) as daemon,
    ):
        # A job backfill of reanalysis_job (its tags, one run per session from the command line), an
        # asset backfill launched from the UI (dagster/backfill only), and the views' automation run.
        queue(
            instance, "reanalysis_job", {**reanalysis_job.tags, "dagster/backfill": "job"}, "job", 2 * slots
        )
        queue(instance, "__ASSET_JOB", {"dagster/backfill": "asset"}, "asset", 2 * slots)
        queue(instance, "__ASSET_JOB", dict(views_automation_sensor.run_tags), "views")
        dequeue(daemon, workspace)
        running = in_progress(instance)
        assert running.get("job", 0) + running.get("asset", 0) == slots - 2 and running["views"] == 1
        dequeue(daemon, workspace)
        assert sum(in_progress(instance).values()) == slots - 1, "the last slot is kept"

        queue(instance, "session_job", live_tags, "live")
        dequeue(daemon, workspace)
        assert in_progress(instance)["live"] == 1 and sum(in_progress(instance).values()) == slots
        [live] = instance.get_runs(dg.RunsFilter(tags={"kind": "live"}))
        assert live.status is dg.DagsterRunStatus.STARTING
        assert live.tags["dagster/priority"] == "10" and int(reanalysis_job.tags["dagster/priority"]) < 10

        # The views' run ends: the next bulk run in the queue takes its slot, never the kept one.
        [views] = instance.get_runs(dg.RunsFilter(tags={"kind": "views"}))
        instance.report_run_canceled(views)
        queue(instance, "__ASSET_JOB", dict(views_automation_sensor.run_tags), "views")
        dequeue(daemon, workspace)
        dequeue(daemon, workspace)
        assert in_progress(instance)["views"] == 1 and sum(in_progress(instance).values()) == slots


def test_a_burst_of_live_runs_may_take_every_slot(live_tags: dict[str, str]) -> None:
    with (
        queue_of(ROOT / "dagster.yaml") as (instance, workspace, slots),
        QueuedRunCoordinatorDaemon(interval_seconds=1) as daemon,
    ):
        # A burst's runs are of several learners each (no learner_id tag), as the sensor batches them.
        burst = {k: v for k, v in live_tags.items() if k != "learner_id"}
        queue(instance, "reanalysis_job", {**reanalysis_job.tags, "dagster/backfill": "job"}, "job", slots)
        queue(instance, "session_job", burst, "live", slots)
        dequeue(daemon, workspace)
        assert in_progress(instance) == {"live": slots}, "live runs first, and the kept slot is theirs too"
