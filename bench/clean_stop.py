"""How long a stop takes: bare ``dagster dev`` (what ``make run`` ran before) vs ``wiring.supervise``.

Each side starts on its own Dagster home with the demo sessions (so runs may be in flight), waits
until the webserver answers and ``--stop-settle`` seconds more, then stops as a supervisor does
(SIGTERM to its top process) or as Ctrl-C does (SIGINT to its process group), and measures
until every process it started is gone (those still there after ``--limit`` seconds are killed and
the stop counted as not finished). Side by side in one run; say the machine's load with the numbers.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.e2e.test_clean_stop import descendants, start_time

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("clean_stop")
    group.add_argument("--stop-settle", type=float, default=5.0, help="seconds after the webserver answers")
    group.add_argument("--stop-limit", type=float, default=40.0, help="seconds before leftovers are killed")


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _measure(
    name: str, command: list[str], home: Path, settle: float, limit: float, how: str
) -> float | None:
    port = _port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home / "dagster"),
        "UPLOADS_URI": str(home / "uploads"),
        "RESULTS_URI": str(home / "results"),
        "STATUS_DB_URL": f"sqlite:///{home}/status.db",
    }
    (home / "dagster").mkdir(parents=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster" / "dagster.yaml")
    shutil.copytree(ROOT / "examples" / "sessions", home / "uploads")
    with (home / "out.log").open("wb") as out:
        top = subprocess.Popen(
            [*command, str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).close()
            break
        except OSError:
            time.sleep(0.5)
    time.sleep(settle)
    processes = descendants(top.pid)
    started = time.monotonic()
    if how == "SIGTERM":
        top.send_signal(signal.SIGTERM)
    else:
        os.killpg(top.pid, signal.SIGINT)
    while time.monotonic() - started < limit:
        top.poll()
        if not any(start_time(pid) == begun for pid, begun in processes.items()):
            took = time.monotonic() - started
            logger.info("%s, %s: %d processes, all gone %.1f s after it", name, how, len(processes), took)
            return took
        time.sleep(0.1)
    left = [pid for pid, begun in processes.items() if start_time(pid) == begun]
    logger.info(
        "%s, %s: %d of %d still running after %.0f s: killed", name, how, len(left), len(processes), limit
    )
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return None


def _runs_left_going(home: Path) -> int:
    """Runs of that home still STARTING, STARTED or CANCELING once everything is gone (queued ones wait)."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home / "dagster"))) as instance:
        return len(instance.get_runs(filters=dg.RunsFilter(statuses=[
            dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING
        ])))  # fmt: skip


def run(args: argparse.Namespace) -> bool:
    bin_dir = Path(sys.executable).parent
    sides = {
        "bare dagster dev (before)": [
            str(bin_dir / "dagster"),
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
        ],
        "make run (wiring.supervise)": [
            sys.executable,
            "-m",
            "wiring.supervise",
            "--host",
            "127.0.0.1",
            "--port",
        ],
    }
    logger.info("load average: %s", " ".join(f"{x:.1f}" for x in os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp:
        for how in ("SIGTERM", "SIGINT"):
            for name, command in sides.items():
                home = Path(tempfile.mkdtemp(dir=tmp))
                _measure(name, command, home, args.stop_settle, args.stop_limit, how)
                logger.info("%s, %s: %d run(s) left going", name, how, _runs_left_going(home))
    logger.info("load average: %s", " ".join(f"{x:.1f}" for x in os.getloadavg()))
    return True
