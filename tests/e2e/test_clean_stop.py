"""`make run` stops whole: SIGTERM, then Ctrl-C (SIGINT to its process group) on a second start on the same port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from wiring.supervise import group_members, port_holder

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
START_TIMEOUT = 180.0  # dagster dev's start on a loaded 2-core machine
STOP_TIMEOUT = 60.0  # generous: how long a stop takes is measured by hand (docs/operations.md), not here

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for the processes make run started"),
]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def start_time(pid: int) -> str | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == b"Z" else fields[19].decode()


def descendants(root: int) -> dict[int, str]:
    """``root`` and every process under it, each with its start time (a pid alone may be reused)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if (started := start_time(pid)) is not None:
            found[pid] = started
        todo += children.get(pid, [])
    return found


def make_run(tmp_path: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "UPLOADS_URI": str(tmp_path / "uploads"),  # make run copies the demo sessions here
        "RESULTS_URI": str(tmp_path / "results"),
        "STATUS_DB_URL": f"sqlite:///{tmp_path}/status.db",
    }
    with log.open("ab") as out:  # -o: the shared .venv counts as installed whatever its age
        return subprocess.Popen(
            ["make", "--no-print-directory", "-o", ".venv/.installed", "run", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal gives a foreground job
        )


def wait_serving(make: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert make.poll() is None, f"make run exited early:\n{log.read_text()[-3000:]}"
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/server_info", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the webserver did not answer on {port}:\n{log.read_text()[-3000:]}")


def stop_and_check(make: subprocess.Popen[bytes], port: int, log: Path, how: str, stops: int) -> None:
    processes = descendants(make.pid)
    leaders = [pid for pid in processes if pid != make.pid and Path(f"/proc/{pid}").exists()]
    dev = [pid for pid in leaders if os.getpgid(pid) == pid]  # dagster dev leads a group of its own
    assert len(processes) >= 5, processes  # make, supervise, dagster dev, webserver, daemon, code server...
    if how == "SIGTERM":
        make.send_signal(signal.SIGTERM)  # to make alone, as systemd's main-process mode or a script does
    else:
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the foreground process group
    try:
        code = make.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(make.pid, signal.SIGKILL)
        raise AssertionError(f"make run still running after {how}:\n{log.read_text()[-3000:]}") from None
    left = {pid: started for pid, started in processes.items() if start_time(pid) == started}
    assert left == {}, f"after {how}, still running: {left}\n{log.read_text()[-3000:]}"
    assert all(group_members(pgid) == [] for pgid in dev), "a process of dagster dev's group is left"
    assert port_holder(HOST, port) is None, f"port {port} still taken after {how}"
    assert log.read_text().count("supervise - INFO - stopped in") == stops, log.read_text()[-3000:]
    assert code in (0, 2, -signal.SIGINT, -signal.SIGTERM, 130, 143), code


def no_run_left_going(tmp_path: Path) -> None:
    """Every run ended (none STARTED or CANCELING), and the sessions of a run that was stopped are FAILED
    as interrupted, not left in flight."""
    import dagster as dg

    from pipeline.status.store import StatusStore
    from sensors.failures import sessions_of_run

    with dg.DagsterInstance.get() as instance:  # DAGSTER_HOME: the test's
        runs = instance.get_runs()
        going = [r.run_id for r in runs if not r.is_finished and r.status is not dg.DagsterRunStatus.QUEUED]
        assert going == [], going
        store = StatusStore(f"sqlite:///{tmp_path}/status.db")
        for run in runs:
            if run.status is dg.DagsterRunStatus.CANCELED:
                for key in sessions_of_run(run, instance):
                    row = store.get(key)
                    assert row is not None and row.state.value in ("FAILED", "DONE"), (key, row)


def test_sigterm_then_ctrl_c_end_every_process_and_free_the_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    port, log = free_port(), tmp_path / "make-run.log"
    first = make_run(tmp_path, port, log)
    wait_serving(first, port, log)
    stop_and_check(first, port, log, "SIGTERM", stops=1)
    second = make_run(tmp_path, port, log)  # the same port, at once
    wait_serving(second, port, log)
    stop_and_check(second, port, log, "SIGINT", stops=2)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    no_run_left_going(tmp_path)
