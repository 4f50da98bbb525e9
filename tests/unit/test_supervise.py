"""make run's supervisor: a stop ends the whole process group (stubborn children too); stopped runs end interrupted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from wiring.interrupted import end_interrupted, mark_canceling
from wiring.supervise import group_members, port_holder

ROOT = Path(__file__).resolve().parents[2]

#: A stand-in for dagster dev: a child that shuts down on SIGINT, and one that ignores it (a code
#: server that hangs on its way out); each writes its pid, then they wait.
TREE = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    stubborn = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); print(flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE)
    stubborn.stdout.readline()
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    open(sys.argv[1], "w").write(f"{os.getpid()} {stubborn.pid} {polite.pid}")
    time.sleep(600)
    """
)

SUPERVISE = textwrap.dedent(
    """
    import signal, sys
    from wiring.supervise import Supervisor
    supervisor = Supervisor([sys.executable, "-c", sys.argv[1], sys.argv[2]], grace=float(sys.argv[3]))
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    sys.exit(supervisor.run())
    """
)


def supervised_tree(tmp_path: Path, grace: float) -> tuple[subprocess.Popen[bytes], list[int]]:
    pids_file = tmp_path / "pids"
    process = subprocess.Popen(
        [sys.executable, "-c", SUPERVISE, TREE, str(pids_file), str(grace)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not (pids_file.exists() and pids_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return process, [int(p) for p in pids_file.read_text().split()]


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_ends_the_whole_group_even_a_child_ignoring_sigint(tmp_path: Path, signum: int) -> None:
    supervisor, (leader, stubborn, polite) = supervised_tree(tmp_path, grace=0.5)
    assert os.getpgid(leader) == leader != os.getpgid(supervisor.pid)  # a group of its own
    assert sorted(group_members(leader)) == sorted([leader, stubborn, polite])
    supervisor.send_signal(signum)
    assert supervisor.wait(timeout=30) == 0
    assert not any(alive(pid) for pid in (leader, stubborn, polite))
    assert group_members(leader) == []


def test_port_holder_names_a_taken_port() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert port_holder("127.0.0.1", port)
    assert port_holder("127.0.0.1", port) is None


def test_runs_in_flight_end_canceled_and_their_sessions_interrupted(tmp_path: Path) -> None:
    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("sessions", ["s1", "s2", "s3"])
        going = instance.create_run_for_job(
            dg.GraphDefinition(name="g", node_defs=[]).to_job(), tags={"dagster/partition": "s1"}
        )
        instance.report_run_canceling(going)  # so the mark below has one to skip and one to mark
        started = instance.create_run_for_job(
            dg.GraphDefinition(name="h", node_defs=[]).to_job(), tags={"dagster/partition": "s2"}
        )
        instance.handle_new_event(  # STARTED, as a worker reports it
            dg.EventLogEntry(
                error_info=None,
                level="DEBUG",
                user_message="",
                run_id=started.run_id,
                timestamp=time.time(),
                dagster_event=dg.DagsterEvent(
                    event_type_value=dg.DagsterEventType.RUN_START.value, job_name="h"
                ),
            )
        )
        for key, run in (("s1", going), ("s2", started)):
            status.register(key, "ana", media_key=None, uploaded_at=datetime.now(UTC))
            status.set_state(key, SessionState.ANALYZING, run_id=run.run_id)
        status.register(
            "s3", "ana", media_key=None, uploaded_at=datetime.now(UTC)
        )  # queued for a later run: left alone

        assert mark_canceling(instance) == [started.run_id]
        assert instance.get_run_by_id(started.run_id).status is dg.DagsterRunStatus.CANCELING
        marked = end_interrupted(instance, status, [started.run_id])
        assert sorted(marked) == ["s1", "s2"]
        for run in (going, started):
            assert instance.get_run_by_id(run.run_id).status is dg.DagsterRunStatus.CANCELED
    for key in ("s1", "s2"):
        row = status.get(key)
        assert row is not None and row.state is SessionState.FAILED and row.error is not None
        assert row.error.startswith("interrupted: run ") and "make run" in row.error
    assert status.get("s3").state is not SessionState.FAILED
