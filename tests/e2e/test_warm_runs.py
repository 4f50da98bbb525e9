"""The embedded default's warm run launcher under the real daemon: forked workers, termination, a killed worker."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import dagster as dg
import pytest

from launchers.run_workers import process_start, worker_of
from launchers.warm_runs import LAUNCHER_TAG
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.daemon import daemon_env, running_daemon, wait_for
from tests.support.fake_api import FakeAPI
from tests.support.sessions import add_session

pytestmark = pytest.mark.e2e

TEXT = "Yesterday I go to the market and I buy a apple. She don't like it, you know, it was very very good."


def session_run(instance: dg.DagsterInstance, session: str) -> dg.DagsterRun | None:
    runs = instance.get_runs(dg.RunsFilter(job_name="session_job", tags={"dagster/partition": session}))
    return runs[-1] if runs else None  # the first run of the session (a retry comes later)


def zygotes_of(parent: int) -> list[int]:
    """The daemon's live zygote processes (children running ``launchers.zygote.serve``)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if int(stat[1]) == parent and stat[0] != b"Z" and b"launchers.zygote import serve" in command:
            found.append(int(entry.name))
    return found


def worker_pid(run: dg.DagsterRun) -> int:
    worker = worker_of(run)
    assert worker is not None, run.tags
    return worker[0]


def test_runs_fork_warm_can_be_terminated_and_a_killed_worker_is_failed_and_retried(tmp_path: Path) -> None:
    uploads, home, status_url = tmp_path / "uploads", tmp_path / "home", f"sqlite:///{tmp_path}/status.db"
    uploads.mkdir()
    with FakeAPI(slow_seconds=120) as fake:
        env = daemon_env(
            tmp_path,
            SENSOR_INTERVAL_SECONDS="1",
            ANALYZER_PROVIDER="openai",
            OPENAI_API_KEY="sk-test-not-a-real-key",
            OPENAI_BASE_URL=fake.openai_base_url,
            PROVIDER_TIMEOUT_SECONDS="300",
        )
        status = StatusStore(status_url)
        instance_yaml = (
            (Path(__file__).resolve().parents[2] / "dagster.yaml")
            .read_text()
            .replace("poll_interval_seconds: 5", "poll_interval_seconds: 1")
        )
        home.mkdir()
        (home / "dagster.yaml").write_text(instance_yaml)
        with (
            # The instance's SQLite storage is created here, before the daemon starts: two processes
            # creating it at once can both stamp its schema version.
            dg.DagsterInstance.from_config(str(home)) as instance,
            running_daemon(home, env, instance_yaml) as daemon,
        ):

            def wait(what: str, condition, timeout: float = 120) -> None:  # noqa: ANN001
                wait_for(condition, timeout=timeout, what=what, daemon=daemon, log=home / "daemon.log")

            def state(session: str) -> SessionState | None:
                found = status.get(session)
                return found.state if found else None

            # 1. Runs are forked from the zygote, not spawned by the code server.
            for n in range(2):
                add_session(uploads, f"learner{n}", f"warm{n}", text=f"{TEXT} Session {n}.")
                wait(f"warm{n} DONE", lambda n=n: state(f"warm{n}") is SessionState.DONE)
            for n in range(2):
                run = session_run(instance, f"warm{n}")
                assert run is not None and run.tags[LAUNCHER_TAG] == "warm", run and run.tags
                wait(
                    f"warm{n}'s worker gone",
                    lambda run=run: process_start(worker_pid(run)) is None,
                    timeout=30,
                )
                assert instance.get_run_by_id(run.run_id).status is dg.DagsterRunStatus.SUCCESS  # type: ignore[union-attr]
            pids = {worker_pid(session_run(instance, f"warm{n}")) for n in range(2)}  # type: ignore[arg-type]
            assert len(pids) == 2 and os.getpid() not in pids

            # A dead zygote is replaced at the next launch.
            [zygote] = zygotes_of(daemon.pid)
            os.kill(zygote, signal.SIGKILL)
            add_session(uploads, "learner9", "after-zygote", text=f"{TEXT} After the zygote.")
            wait("after-zygote DONE", lambda: state("after-zygote") is SessionState.DONE)
            assert session_run(instance, "after-zygote").tags[LAUNCHER_TAG] == "warm"  # type: ignore[union-attr]
            assert zygotes_of(daemon.pid) != [zygote] and len(zygotes_of(daemon.pid)) == 1

            # 2. Terminating a run (what the UI's Terminate does) cancels it in its worker.
            fake.push("slow")
            calls = len(fake.calls)
            add_session(uploads, "learner2", "term", text=f"{TEXT} Terminated.")
            wait("term's analysis call in flight", lambda: len(fake.calls) > calls)
            run = session_run(instance, "term")
            assert run is not None and process_start(worker_pid(run)) is not None
            assert instance.run_launcher.terminate(run.run_id)
            wait(
                "term CANCELED",
                lambda: instance.get_run_by_id(run.run_id).status is dg.DagsterRunStatus.CANCELED,
            )
            wait("term's worker gone", lambda: process_start(worker_pid(run)) is None, timeout=30)
            stopped = status.get("term")
            assert stopped is not None and stopped.state is SessionState.FAILED
            assert stopped.error is not None and stopped.error.startswith(
                "interrupted: the run was terminated"
            )

            # 3. A worker killed mid-run: run monitoring fails the run, run_retries runs it again.
            fake.push("slow")
            calls = len(fake.calls)
            add_session(uploads, "learner3", "killed", text=f"{TEXT} Killed.")
            wait("killed's analysis call in flight", lambda: len(fake.calls) > calls)
            run = session_run(instance, "killed")
            assert run is not None
            os.kill(worker_pid(run), signal.SIGKILL)
            wait(
                "killed's first run FAILURE",
                lambda: instance.get_run_by_id(run.run_id).status is dg.DagsterRunStatus.FAILURE,
                timeout=60,
            )
            failure = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
            assert "is gone" in (failure[-1].dagster_event.message or "")
            wait("killed DONE on the retry", lambda: state("killed") is SessionState.DONE)
            retry = dg.RunsFilter(tags={"dagster/parent_run_id": run.run_id})
            wait(
                "the retry run SUCCESS",
                lambda: [r.status for r in instance.get_runs(retry)] == [dg.DagsterRunStatus.SUCCESS],
            )
            retries = instance.get_runs(retry)
            assert retries[0].tags[LAUNCHER_TAG] == "warm"
            time.sleep(0.5)
        status.dispose()
