"""The warm launcher's edges with real processes: a zygote dying mid-fork, terminate at the fork, orphans, code-load errors."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.launcher import WorkerStatus
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.context import BaseWorkspaceRequestContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.monitoring.run_monitoring import monitor_started_run
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import serialize_value

from launchers.run_workers import PID_TAG, process_start, worker_of
from launchers.warm_runs import LAUNCHER_TAG, WarmRunLauncher
from launchers.zygote import read_line
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from sensors.failures import session_run_canceled_sensor, session_run_failure_sensor
from tests.support.launch_jobs import waiting_job
from tests.support.materialize import offline_resource

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the warm launcher forks on Linux only")

LAUNCHER = {"run_launcher": {"module": "launchers.warm_runs", "class": "WarmRunLauncher"}}
ROOT = Path(__file__).resolve().parents[2]


class Setup:
    def __init__(
        self, instance: dg.DagsterInstance, workspace: BaseWorkspaceRequestContext, tmp: Path
    ) -> None:
        self.instance, self.workspace, self.tmp = instance, workspace, tmp
        self.status = StatusStore(f"sqlite:///{tmp}/status.db")
        self.resource = offline_resource(tmp, tmp / "uploads")
        launcher = instance.run_launcher
        assert isinstance(launcher, WarmRunLauncher)
        self.launcher = launcher
        location = workspace.get_code_location("launch_jobs")
        self.remote_job = location.get_repository("__repository__").get_full_job("waiting_job")

    def run(
        self, session: str, *, code_origin: JobPythonOrigin | None = None, tags: dict[str, str] | None = None
    ) -> dg.DagsterRun:
        """A run of the waiting job holding ``session`` (registered UPLOADED, as the sensor does)."""
        self.status.register(session, "ana", media_key=f"ana/{session}/audio.wav", uploaded_at=None)
        return self.instance.create_run_for_job(
            job_def=waiting_job,
            remote_job_origin=self.remote_job.get_remote_origin(),
            job_code_origin=code_origin or self.remote_job.get_python_origin(),
            tags={"dagster/partition": session, **(tags or {})},
        )

    def current(self, run: dg.DagsterRun) -> dg.DagsterRun:
        found = self.instance.get_run_by_id(run.run_id)
        assert found is not None
        return found

    def close_sessions(self, run: dg.DagsterRun) -> None:
        """What the failure or cancel sensor does once the run has ended."""
        run = self.current(run)
        kind = (
            dg.DagsterEventType.RUN_CANCELED
            if run.status is dg.DagsterRunStatus.CANCELED
            else dg.DagsterEventType.RUN_FAILURE
        )
        [record] = self.instance.all_logs(run.run_id, of_type=kind)[-1:]
        sensor = (
            session_run_canceled_sensor
            if kind is dg.DagsterEventType.RUN_CANCELED
            else session_run_failure_sensor
        )
        with dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=record.dagster_event,
            dagster_instance=self.instance,
            dagster_run=run,
            resources={"pipeline": self.resource},
        ) as context:
            if kind is dg.DagsterEventType.RUN_CANCELED:
                session_run_canceled_sensor(context)
            else:
                session_run_failure_sensor(context.for_run_failure())


def wait(condition: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("edges")
    (tmp / "home").mkdir()
    target = ModuleTarget("tests.support.launch_jobs", None, str(ROOT), "launch_jobs")
    with (
        dg.instance_for_test(overrides=LAUNCHER, temp_dir=str(tmp / "home")) as instance,
        create_test_daemon_workspace_context(target, instance) as process_context,
    ):
        yield Setup(instance, process_context.create_request_context(), tmp)


def test_a_zygote_dying_mid_fork_falls_back_to_the_code_server_whose_killed_worker_fails_the_run(
    setup: Setup,
) -> None:
    """Item 8: the launch raised; item 7: a worker killed on the code-server path was 'not watched'."""
    dying = subprocess.Popen(  # answers ready, takes the fork request, and dies without an answer
        [sys.executable, "-c", "import sys; print('ready', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert read_line(dying.stdout, 30) == b"ready\n"
    setup.launcher._zygote = dying
    run = setup.run("cs1", tags={PID_TAG: "1@1"})  # a retry carries its parent's (dead) worker tag
    setup.instance.launch_run(run.run_id, setup.workspace)
    assert dying.poll() is not None
    assert setup.current(run).tags[LAUNCHER_TAG] == "code-server"
    wait(
        lambda: setup.current(run).status is dg.DagsterRunStatus.STARTED, "the code server's worker to start"
    )
    health = setup.launcher.check_run_worker_health(setup.current(run))
    assert health.status is WorkerStatus.RUNNING
    worker = worker_of(setup.current(run))  # recorded from the worker's "Started process" event
    assert worker is not None and process_start(worker[0]) == worker[1]

    os.kill(worker[0], signal.SIGKILL)
    wait(lambda: process_start(worker[0]) is None, "the killed worker to be gone")
    health = setup.launcher.check_run_worker_health(setup.current(run))
    assert health.status is WorkerStatus.FAILED and "is gone" in (health.msg or "")
    [record] = setup.instance.get_run_records(dg.RunsFilter(run_ids=[run.run_id]))
    monitor_started_run(setup.instance, setup.workspace, record, logging.getLogger("run monitoring"))
    assert setup.current(run).status is dg.DagsterRunStatus.FAILURE
    setup.close_sessions(run)
    failed = setup.status.get("cs1")
    assert failed is not None and failed.state is SessionState.FAILED and "is gone" in (failed.error or "")


def test_a_terminate_between_the_fork_and_the_pid_tag_reaches_the_worker(setup: Setup) -> None:
    """Item 8: it went to DefaultRunLauncher.terminate and sat in CANCELING until monitoring's 180 s timeout."""
    run = setup.run("fork1")
    launch = threading.Thread(target=setup.instance.launch_run, args=(run.run_id, setup.workspace))
    with setup.launcher._lock:  # hold the launch right before its fork request
        launch.start()
        wait(lambda: setup.current(run).tags.get(LAUNCHER_TAG) == "warm", "the launch to reach its fork")
        assert setup.launcher.terminate(run.run_id)
        assert setup.current(run).status is dg.DagsterRunStatus.CANCELING
    launch.join(timeout=60)
    wait(
        lambda: setup.current(run).status is dg.DagsterRunStatus.CANCELED, "the worker to report it canceled"
    )
    worker = worker_of(setup.current(run))
    assert worker is not None
    wait(lambda: process_start(worker[0]) is None, "the worker to exit unrun")
    assert not setup.instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
    setup.close_sessions(run)
    stopped = setup.status.get("fork1")
    assert stopped is not None and stopped.state is SessionState.FAILED
    assert (stopped.error or "").startswith("interrupted:")


def test_a_code_load_error_in_a_forked_worker_fails_the_run_and_its_sessions(setup: Setup) -> None:
    missing = ModuleCodePointer("tests.support.no_such_location", "defs", working_directory=str(ROOT))
    run = setup.run(
        "load1", code_origin=JobPythonOrigin("waiting_job", RepositoryPythonOrigin(sys.executable, missing))
    )
    setup.instance.launch_run(run.run_id, setup.workspace)
    assert setup.current(run).tags[LAUNCHER_TAG] == "warm"
    wait(lambda: setup.current(run).is_finished, "the run to end")
    assert setup.current(run).status is dg.DagsterRunStatus.FAILURE
    setup.close_sessions(run)
    failed = setup.status.get("load1")
    assert failed is not None and failed.state is SessionState.FAILED
    assert "Could not load job definition" in (failed.error or "") and "no_such_location" in (
        failed.error or ""
    )


def test_workers_orphaned_by_a_dead_zygote_are_reaped(setup: Setup) -> None:
    """Item 8: re-parented to PID 1, which in a container never reaps them."""
    args = ExecuteRunArgs(
        job_origin=setup.remote_job.get_python_origin(),
        run_id="not-a-run",
        instance_ref=setup.instance.get_ref(),
    )
    pid = setup.launcher._fork(
        {"args": serialize_value(args), "cwd": None, "go_timeout": 60}
    )  # waits for its go
    zygote = setup.launcher._zygote
    assert zygote is not None
    zygote.kill()
    zygote.wait()

    def parent() -> int:
        return int(Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[1])

    wait(lambda: parent() == os.getpid(), "the orphan to be re-parented to the launcher's process")
    os.kill(pid, signal.SIGKILL)

    def reaped() -> bool:  # no longer a child of this process (WNOWAIT: looking does not reap it)
        try:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return False

    wait(reaped, "the orphan's zombie to be reaped", timeout=30)
