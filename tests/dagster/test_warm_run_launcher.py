"""The warm run launcher's parts without the daemon: when it forks, its zygote, its health check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import dagster as dg
import pytest
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.launcher import WorkerStatus
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin

from launchers.run_workers import PID_TAG, process_start
from launchers.warm_runs import WarmRunLauncher, ZygoteError, can_fork, preload_modules

LAUNCHER = {"run_launcher": {"module": "launchers.warm_runs", "class": "WarmRunLauncher"}}


def origin(executable: str) -> JobPythonOrigin:
    pointer = ModuleCodePointer("wiring.definitions", "defs", working_directory=os.getcwd())
    return JobPythonOrigin("session_job", RepositoryPythonOrigin(executable, pointer))


@pytest.mark.skipif(sys.platform != "linux", reason="the warm launcher forks on Linux only")
def test_forks_only_for_a_code_location_in_this_python(tmp_path) -> None:
    assert can_fork(origin(sys.executable))
    other = tmp_path / "python3"
    other.write_text("#!/bin/sh\n")  # another environment's interpreter: its code server runs it
    assert not can_fork(origin(str(other)))
    assert not can_fork(origin(str(tmp_path / "missing")))
    assert not can_fork(None)


def test_preloads_dagster_and_the_instances_storage() -> None:
    with dg.instance_for_test(overrides=LAUNCHER) as instance:
        assert isinstance(instance.run_launcher, WarmRunLauncher)
        modules = preload_modules(instance)
    assert {"dagster._cli.api", "dagster._core.storage.event_log.sqlite", "anthropic", "openai"} <= set(
        modules
    )
    probe = f"import importlib; [importlib.import_module(m) for m in {modules!r}]"
    subprocess.run([sys.executable, "-c", probe], check=True)  # every one of them imports


def test_the_zygote_forks_a_worker_per_request_and_exits_with_its_launcher() -> None:
    zygote = subprocess.Popen(
        [sys.executable, "-c", "from launchers.zygote import serve; serve()", "json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert zygote.stdout is not None and zygote.stdin is not None
    try:
        assert zygote.stdout.readline() == b"ready\n"
        pids = []
        for _ in range(2):  # not a run: the worker reports the error and exits, the zygote carries on
            zygote.stdin.write(json.dumps({"args": "{}", "cwd": None}).encode() + b"\n")
            zygote.stdin.flush()
            pids.append(json.loads(zygote.stdout.readline())["pid"])
        assert len(set(pids)) == 2 and zygote.pid not in pids
        deadline = time.monotonic() + 30
        while any(process_start(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(process_start(pid) for pid in pids)  # exited, and reaped (no zombie left)
        zygote.stdin.close()
        assert zygote.wait(timeout=10) == 0
    finally:
        zygote.kill()


def test_health_check_follows_the_forked_worker_process() -> None:
    with dg.instance_for_test(overrides=LAUNCHER) as instance:
        launcher = instance.run_launcher

        def run(tags: dict[str, str]) -> dg.DagsterRun:
            return instance.add_run(dg.DagsterRun(job_name="session_job", tags=tags))

        me = run({PID_TAG: f"{os.getpid()}@{process_start(os.getpid())}"})
        assert launcher.check_run_worker_health(me).status is WorkerStatus.RUNNING
        reused = run({PID_TAG: f"{os.getpid()}@1"})  # this pid, but not the process that was launched
        assert launcher.check_run_worker_health(reused).status is WorkerStatus.FAILED
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        gone = run({PID_TAG: f"{dead.pid}@1"})
        result = launcher.check_run_worker_health(gone)
        assert result.status is WorkerStatus.FAILED and "is gone" in (result.msg or "")
        unknown = run({})  # launched through the code server: not judged on a guess
        assert launcher.check_run_worker_health(unknown).status is WorkerStatus.RUNNING


@pytest.mark.skipif(sys.platform != "linux", reason="the warm launcher forks on Linux only")
def test_a_hung_zygote_fails_one_launch_within_the_timeout_instead_of_blocking(monkeypatch) -> None:
    """Issue 18 item 8: readline() without a timeout blocked every dequeue thread behind the lock.

    ZygoteError sends the run to the code server (tests/dagster/test_warm_launch_edges.py); a worker
    the hung zygote may still fork never hears its go and exits unrun.
    """
    import launchers.warm_runs as warm
    from launchers.zygote import read_line

    monkeypatch.setattr(warm, "ZYGOTE_TIMEOUT_SECONDS", 1.0)
    with dg.instance_for_test(overrides=LAUNCHER) as instance:
        launcher = instance.run_launcher
        assert isinstance(launcher, WarmRunLauncher)
        hung = subprocess.Popen(
            [sys.executable, "-c", "import sys, time; print('ready', flush=True); time.sleep(120)"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert read_line(hung.stdout, 10.0) == b"ready\n"
        launcher._zygote = hung
        outcomes: dict[str, object] = {}

        def dequeue_thread(name: str) -> None:
            try:
                outcomes[name] = launcher._fork({"args": "{}", "cwd": None})
            except ZygoteError as exc:
                outcomes[name] = exc

        first = threading.Thread(target=dequeue_thread, args=("first",))
        second = threading.Thread(target=dequeue_thread, args=("second",))
        started = time.monotonic()
        first.start()
        while not launcher._lock.locked():  # the first launch waits on the hung zygote
            time.sleep(0.01)
        second.start()  # queues up behind it
        first.join(timeout=60)
        assert time.monotonic() - started < 10
        assert "died or hung while forking" in str(outcomes["first"])
        assert hung.poll() is not None, "the hung zygote is stopped; the next launch starts a new one"
        second.join(timeout=60)  # then gets a new zygote (or, slower than the 1 s allowed here, an error)
        assert not second.is_alive() and "second" in outcomes
