"""Runs started warm: the embedded default's run launcher (``dagster.yaml``).

One process per run, as with Dagster's ``DefaultRunLauncher``, but forked from a *zygote* that has
already imported Dagster and its storage layer, instead of spawned cold by the code server. A cold
run worker spends ~1.1 s of a ~1.5 s single-session run importing Dagster and its storage before it
does anything (bench/run_start.py), and a burst of uploads pays that once per run on a 2-core
machine. Each forked run then loads the code location fresh from disk, as a spawned worker does
(edited code is picked up without restarting the daemon), and executes exactly as
``dagster api execute_run`` does.

The zygote is a child of the process that launches runs (the daemon), started on the first launch
and restarted if it died; it exits when its launcher goes away, and its runs carry on, as a code
server's do. Runs fall back to ``DefaultRunLauncher`` (the code server) for a code location in
another Python environment, off Linux (fork is unsafe on macOS and absent on Windows), or when the
zygote cannot start, hangs or dies while forking (a forked worker waits for its launcher's go, so a
run whose fork went unanswered is never run twice: ``launchers.zygote``). Run tags
``speaking/run_launcher`` (``warm`` or ``code-server``) and ``speaking/run_worker``
(``<pid>@<start time>``) say which path a run took and which process runs it; the latter serves
termination and run monitoring's health check on both paths (for a code server on this host, the
worker's pid comes from its "Started process" event), so a killed worker fails its run either way.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, WorkerStatus
from dagster._core.launcher.default_run_launcher import DefaultRunLauncher
from dagster._core.origin import JobPythonOrigin
from dagster._core.storage.tags import GRPC_INFO_TAG  # DefaultRunLauncher records the code server it asked
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import ConfigurableClassData, serialize_value

from launchers.run_workers import (
    PID_TAG,
    Reaper,
    code_server_worker,
    process_start,
    run_worker_alive,
    worker_of,
)
from launchers.zygote import GO, PRELOAD, STOP, read_line

logger = logging.getLogger(__name__)

LAUNCHER_TAG = "speaking/run_launcher"
_SQLITE_STORAGE = (
    "dagster._core.storage.runs.sqlite",
    "dagster._core.storage.event_log.sqlite",
    "dagster._core.storage.schedules.sqlite",
)
_FINISHED = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)
_STOPPING = (DagsterRunStatus.CANCELING, DagsterRunStatus.CANCELED)

#: How long the launcher waits for the zygote to say ``ready`` or answer a fork: a hung zygote must
#: fail one launch (to the code server), never block every dequeue thread behind the launcher's lock.
ZYGOTE_TIMEOUT_SECONDS = 30.0
#: How long a terminate waits for the worker to finish its cancel. Run monitoring fails a run past its
#: maximum runtime as soon as ``terminate`` returns: had the worker not ended its run ``CANCELED`` by
#: then, its own later failure event (a step failure) would race run_retries' decision to retry.
STOP_WAIT_SECONDS = 10.0
#: How long a forked worker waits for its go before it exits unrun (past any answer the launcher waits for).
GO_TIMEOUT_SECONDS = 4 * ZYGOTE_TIMEOUT_SECONDS


class ZygoteError(RuntimeError):
    """The zygote could not start, or did not answer a launch (no run was started by it)."""


def preload_modules(instance: DagsterInstance) -> list[str]:
    """Modules a run worker of ``instance`` imports before its code location: Dagster's and its storage's."""
    ref = instance.get_ref()
    modules = list(PRELOAD)
    for data in (ref.storage_data, ref.run_storage_data, ref.event_storage_data, ref.schedule_storage_data,
                 ref.compute_logs_data, ref.local_artifact_storage_data):  # fmt: skip
        if isinstance(data, ConfigurableClassData):
            modules.append(data.module_name)
            if data.module_name == "dagster._core.storage.sqlite_storage":
                modules.extend(_SQLITE_STORAGE)  # SqliteStorage imports these in its constructor
    return list(dict.fromkeys(modules))


class WarmRunLauncher(DefaultRunLauncher):
    """``DefaultRunLauncher`` whose run processes are forked from a pre-imported zygote."""

    def __init__(self, inst_data: ConfigurableClassData | None = None, fork: bool = True) -> None:
        super().__init__(inst_data=inst_data)
        self._fork_enabled = fork
        self._zygote: subprocess.Popen | None = None
        self._lock = threading.Lock()  # the daemon launches from several threads; one request at a time
        self._reaper = Reaper()

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        from dagster import Field

        return {"fork": Field(bool, is_required=False, default_value=True)}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Any) -> WarmRunLauncher:
        return cls(inst_data=inst_data, fork=config_value.get("fork", True))

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        origin = run.job_code_origin
        if not self._fork_enabled or origin is None or not can_fork(origin):
            self._launch_through_code_server(context)
            return
        args = ExecuteRunArgs(
            job_origin=origin,
            run_id=run.run_id,
            instance_ref=self._instance.get_ref(),
            set_exit_code_on_failure=False,
        )
        pointer = origin.repository_origin.code_pointer
        request = {
            "args": serialize_value(args),
            "cwd": getattr(pointer, "working_directory", None),
            "go_timeout": GO_TIMEOUT_SECONDS,
        }
        # A Terminate from now on waits for the pid; a retry's copy of its parent's worker is forgotten.
        self._instance.add_run_tags(run.run_id, {LAUNCHER_TAG: "warm", PID_TAG: ""})
        try:
            pid = self._fork(request)
        except ZygoteError as exc:
            logger.warning(
                "warm launch of run %s failed (%s): launching it through the code server", run.run_id, exc
            )
            self._launch_through_code_server(context)
            return
        self._instance.add_run_tags(run.run_id, {PID_TAG: f"{pid}@{process_start(pid) or 'gone'}"})
        current = self._instance.get_run_by_id(run.run_id)
        terminated = current is not None and current.status in _STOPPING
        try:
            os.kill(pid, STOP if terminated else GO)  # terminated at the fork: the worker reports it canceled
        except ProcessLookupError:  # died already: run monitoring's start timeout fails the run
            logger.warning("run %s: its forked worker %s exited before it was started", run.run_id, pid)

    def _launch_through_code_server(self, context: LaunchRunContext) -> None:
        run_id = context.dagster_run.run_id
        self._instance.add_run_tags(run_id, {LAUNCHER_TAG: "code-server", PID_TAG: ""})
        current = self._instance.get_run_by_id(run_id)
        if current is not None and current.status in _STOPPING:  # terminated while the fork failed
            if current.status is DagsterRunStatus.CANCELING:
                self._instance.report_run_canceled(current, "terminated before its worker started")
            return
        super().launch_run(context)

    def _fork(self, request: dict[str, Any]) -> int:
        """Ask the zygote (started or restarted if needed) for a run process; returns its pid."""
        with self._lock:
            zygote = self._ensure_zygote()
            assert zygote.stdin is not None and zygote.stdout is not None
            try:
                zygote.stdin.write((json.dumps(request) + "\n").encode())
                zygote.stdin.flush()
            except OSError as exc:  # not delivered: the zygote is gone, no run was started
                self._stop_zygote()
                raise ZygoteError(f"zygote not reachable: {exc}") from None
            answer = read_line(zygote.stdout, ZYGOTE_TIMEOUT_SECONDS)
            try:
                return int(json.loads(answer)["pid"])
            except (ValueError, KeyError, TypeError):
                # Delivered but unanswered (the zygote died or hung mid-fork): a worker it may have
                # forked never hears its go and exits unrun, so the run can be launched another way.
                self._stop_zygote()
                raise ZygoteError(
                    f"the zygote died or hung while forking (answer {answer[:200]!r})"
                ) from None

    def _ensure_zygote(self) -> subprocess.Popen:
        if self._zygote is not None and self._zygote.poll() is None:
            return self._zygote
        if self._zygote is not None:
            self._zygote.wait()
        self._reaper.start()  # workers of a zygote that dies are re-parented here, and reaped
        command = [
            sys.executable,
            "-c",
            "from launchers.zygote import serve; serve()",
            *preload_modules(self._instance),
        ]
        try:
            self._zygote = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True
            )
        except OSError as exc:
            raise ZygoteError(f"cannot start the zygote: {exc}") from None
        assert self._zygote.stdout is not None
        ready = read_line(self._zygote.stdout, ZYGOTE_TIMEOUT_SECONDS)
        if ready.strip() != b"ready":
            self._stop_zygote()
            raise ZygoteError(f"the zygote did not start (said {ready[:200]!r})")
        logger.info("run zygote started (pid %s)", self._zygote.pid)
        return self._zygote

    def _stop_zygote(self) -> None:
        if self._zygote is not None:
            self._zygote.kill()
            self._zygote.wait()
            self._zygote = None

    def dispose(self) -> None:
        with self._lock:
            if self._zygote is not None and self._zygote.poll() is None:
                assert self._zygote.stdin is not None
                self._zygote.stdin.close()  # EOF: the zygote exits; its runs carry on
                try:
                    self._zygote.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._stop_zygote()
            self._zygote = None
        self._reaper.stop()
        super().dispose()

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.tags.get(LAUNCHER_TAG) != "warm":
            return super().terminate(run_id)  # launched through the code server: it cancels its worker
        worker = worker_of(run)
        if worker is None:
            # Between the fork and the pid tag: the launcher reads CANCELING once it has the pid and
            # stops the worker before it starts. If the tag landed meanwhile, stop it here.
            self._instance.report_run_canceling(run)
            current = self._instance.get_run_by_id(run_id)
            worker = worker_of(current) if current is not None else None
            if worker is None:
                return True
        elif not run_worker_alive(run):
            return False
        else:
            self._instance.report_run_canceling(run)
        try:
            os.kill(worker[0], STOP)  # the worker's capture_interrupts turns it into a clean cancel
        except ProcessLookupError:
            return False
        _wait_gone(worker, STOP_WAIT_SECONDS)
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: Any) -> CheckRunHealthResult:
        if worker_of(run) is None and run.tags.get(LAUNCHER_TAG) == "code-server" and on_this_host(run):
            found = code_server_worker(self._instance, run.run_id)
            if found is not None:
                self._instance.add_run_tags(run.run_id, {PID_TAG: found})
                run = self._instance.get_run_by_id(run.run_id) or run
        if worker_of(run) is None:
            # A code server on another host (its workers are not ours to see), or a pid not recorded
            # yet: monitoring fails a run on anything but RUNNING or SUCCESS, so never on a guess.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not watched: no worker recorded")
        if run_worker_alive(run):
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        current = self._instance.get_run_by_id(run.run_id)
        if current is None or current.status in _FINISHED:
            return CheckRunHealthResult(WorkerStatus.SUCCESS)
        return CheckRunHealthResult(WorkerStatus.FAILED, f"run worker process {run.tags[PID_TAG]} is gone")


def _wait_gone(worker: tuple[int, str], timeout: float) -> None:
    """Wait until the worker process (pid and start time) has exited, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while process_start(worker[0]) == worker[1] and time.monotonic() < deadline:
        time.sleep(0.05)


def can_fork(origin: object) -> bool:
    """Forking is safe here, and the code location runs in this very Python environment."""
    if sys.platform != "linux" or not isinstance(origin, JobPythonOrigin):
        return False
    try:
        return os.path.samefile(origin.repository_origin.executable_path, sys.executable)
    except OSError:
        return False


def on_this_host(run: Any) -> bool:
    """Whether the code server that started the run is on this host (its worker's pid means a process here)."""
    try:
        info = json.loads(run.tags.get(GRPC_INFO_TAG, ""))
    except ValueError:
        return False
    if info.get("socket"):
        return True  # a Unix socket is local by nature
    return info.get("host") in {"localhost", "127.0.0.1", "::1", "0.0.0.0", socket.gethostname()}


__all__ = [
    "LAUNCHER_TAG",
    "PID_TAG",
    "WarmRunLauncher",
    "ZygoteError",
    "can_fork",
    "process_start",
    "read_line",
    "worker_of",
]
