"""Running the real Dagster daemon (and through it the code server and run workers) for a test."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[2]


def daemon_env(base: Path, **settings: str) -> dict[str, str]:
    """The pipeline's environment over ``base``: ``uploads/``, ``results/`` and ``status.db`` there,
    offline providers, a 2 s sensor interval; ``settings`` (variable=value) add to it or override it."""
    return {
        "UPLOADS_URI": str(base / "uploads"),
        "RESULTS_URI": str(base / "results"),
        "STATUS_DB_URL": f"sqlite:///{base}/status.db",
        "STT_PROVIDER": "offline",
        "ANALYZER_PROVIDER": "offline",
        "SENSOR_INTERVAL_SECONDS": "2",
        **settings,
    }


@contextmanager
def running_daemon(
    home: Path, env: dict[str, str], instance_yaml: str | None = None, root: Path = ROOT
) -> Iterator[subprocess.Popen]:
    """Start ``dagster-daemon run`` on a temporary DAGSTER_HOME; stop it and its children on exit.

    ``root``: the source tree whose ``workspace.yaml`` (and so code) and ``dagster.yaml`` to use, e.g. an
    older commit's.
    """
    home.mkdir(parents=True, exist_ok=True)
    if instance_yaml is None:
        shutil.copy(root / "dagster.yaml", home / "dagster.yaml")
    else:
        (home / "dagster.yaml").write_text(instance_yaml)
    full_env = {**os.environ, **env, "DAGSTER_HOME": str(home)}
    log = open(home / "daemon.log", "wb")  # noqa: SIM115 - closed below
    daemon_bin = Path(sys.executable).with_name("dagster-daemon")
    process = subprocess.Popen(
        [str(daemon_bin), "run", "-w", str(root / "workspace.yaml")],
        cwd=root,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def wait_for(
    condition: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    daemon: subprocess.Popen | None = None,
    log: Path | None = None,
) -> None:
    """Poll ``condition`` until true; on timeout or a dead daemon fail with the daemon log's tail."""
    deadline = time.monotonic() + timeout
    problem = f"timed out after {timeout:.0f}s"
    while time.monotonic() < deadline:
        if condition():
            return
        if daemon is not None and daemon.poll() is not None:
            problem = f"the daemon exited with code {daemon.returncode}"
            break
        time.sleep(1.0)
    tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
    raise AssertionError(f"{problem} waiting for {what}\n--- daemon log tail ---\n{tail}")


SESSION_RUNS = dg.RunsFilter(job_name="session_job")  # not the analyst views' automation runs


def wait_for_session_runs(
    instance: dg.DagsterInstance,
    *,
    what: str,
    daemon: subprocess.Popen | None = None,
    log: Path | None = None,
    timeout: float = 60.0,
) -> None:
    """Wait until every session run has ended: a session is DONE a moment before its run reports it."""
    wait_for(
        lambda: all(r.is_finished for r in instance.get_runs(SESSION_RUNS)),
        timeout=timeout,
        what=what,
        daemon=daemon,
        log=log,
    )
