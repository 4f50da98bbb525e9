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
zygote cannot start. Run tags ``speaking/run_launcher`` (``warm`` or ``code-server``) and
``speaking/run_worker`` (``<pid>@<start time>``) say which path a run took; the latter also serves
termination and run monitoring's health check, on this host.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from typing import Any

from dagster import DagsterInstance, DagsterRunStatus
from dagster._cli.api import _execute_run_command_body
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, WorkerStatus
from dagster._core.launcher.default_run_launcher import DefaultRunLauncher
from dagster._core.origin import JobPythonOrigin
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import ConfigurableClassData, deserialize_value, serialize_value
from dagster._utils.interrupts import capture_interrupts

logger = logging.getLogger(__name__)

PID_TAG = "speaking/run_worker"
LAUNCHER_TAG = "speaking/run_launcher"
#: What the zygote imports once, besides the instance's own storage classes: what a run worker
#: imports before it loads the code location.
PRELOAD = (
    "dagster._cli.api",
    "dagster._core.execution.api",
    "dagster._core.storage.sql",
    "alembic.runtime.migration",
)
_SQLITE_STORAGE = (
    "dagster._core.storage.runs.sqlite",
    "dagster._core.storage.event_log.sqlite",
    "dagster._core.storage.schedules.sqlite",
)


#: How long the launcher waits for the zygote to say ``ready`` or answer a fork: a hung zygote must
#: fail one launch, never block every dequeue thread behind the launcher's lock.
ZYGOTE_TIMEOUT_SECONDS = 30.0


def read_line(stream: Any, timeout: float) -> bytes:
    """One line from a pipe, or what came before ``timeout`` seconds passed (b"" if nothing).

    Reads the raw descriptor (never the buffered reader), so select() sees every byte not yet read.
    """
    fd, deadline, data = stream.fileno(), time.monotonic() + timeout, b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 1)
        if not chunk:
            break  # the zygote exited
        data += chunk
    return data


class ZygoteError(RuntimeError):
    """The zygote could not start, or did not answer a launch."""


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

    def __init__(self, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(inst_data=inst_data)
        self._zygote: subprocess.Popen | None = None
        self._lock = threading.Lock()  # the daemon launches from several threads; one request at a time

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Any) -> WarmRunLauncher:
        return cls(inst_data=inst_data)

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        origin = run.job_code_origin
        if origin is None or not can_fork(origin):
            self._instance.add_run_tags(run.run_id, {LAUNCHER_TAG: "code-server"})
            super().launch_run(context)
            return
        args = ExecuteRunArgs(
            job_origin=origin,
            run_id=run.run_id,
            instance_ref=self._instance.get_ref(),
            set_exit_code_on_failure=False,
        )
        pointer = origin.repository_origin.code_pointer
        request = {"args": serialize_value(args), "cwd": getattr(pointer, "working_directory", None)}
        try:
            pid = self._fork(request)
        except ZygoteError as exc:
            logger.warning(
                "warm launch of run %s failed (%s): launching it through the code server", run.run_id, exc
            )
            self._instance.add_run_tags(run.run_id, {LAUNCHER_TAG: "code-server"})
            super().launch_run(context)
            return
        self._instance.add_run_tags(
            run.run_id, {PID_TAG: f"{pid}@{process_start(pid)}", LAUNCHER_TAG: "warm"}
        )

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
            # Delivered but unanswered: the run may have started, so never launch it a second time.
            with self._lock:
                self._stop_zygote()
            raise RuntimeError(f"the run zygote died while forking a run (answer {answer[:200]!r})") from None

    def _ensure_zygote(self) -> subprocess.Popen:
        if self._zygote is not None and self._zygote.poll() is None:
            return self._zygote
        command = [
            sys.executable,
            "-c",
            "from launchers.warm_runs import serve; serve()",
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
        super().dispose()

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        worker = worker_of(run) if run is not None else None
        if run is None or worker is None:
            return super().terminate(run_id)  # launched through the code server
        if not run_worker_alive(run):
            return False
        self._instance.report_run_canceling(run)
        os.kill(worker[0], signal.SIGINT)  # the worker's capture_interrupts turns it into a clean cancel
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: Any) -> CheckRunHealthResult:
        if worker_of(run) is None:
            # Through the code server (its workers are not ours to see), or tagged a moment from now:
            # monitoring fails a run on anything but RUNNING or SUCCESS, so never on a guess.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not watched: no forked worker recorded")
        if run_worker_alive(run):
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        current = self._instance.get_run_by_id(run.run_id)
        if current is None or current.status in (
            DagsterRunStatus.SUCCESS,
            DagsterRunStatus.FAILURE,
            DagsterRunStatus.CANCELED,
        ):
            return CheckRunHealthResult(WorkerStatus.SUCCESS)
        return CheckRunHealthResult(WorkerStatus.FAILED, f"run worker process {run.tags[PID_TAG]} is gone")


def can_fork(origin: object) -> bool:
    """Forking is safe here, and the code location runs in this very Python environment."""
    if sys.platform != "linux" or not isinstance(origin, JobPythonOrigin):
        return False
    try:
        return os.path.samefile(origin.repository_origin.executable_path, sys.executable)
    except OSError:
        return False


def process_start(pid: int) -> str | None:
    """The process's start time (clock ticks since boot): with the pid, it names one process, never a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == b"Z" else fields[19].decode()  # fields[0] is stat's 3rd field, state


def worker_of(run: Any) -> tuple[int, str] | None:
    """The run's forked worker as (pid, start time), from its tag; None if it was not forked here."""
    pid, _, started = run.tags.get(PID_TAG, "").partition("@")
    return (int(pid), started) if pid else None


def run_worker_alive(run: Any) -> bool:
    """Whether the run's forked worker process is still running (the one launched, by pid and start time)."""
    worker = worker_of(run)
    return worker is not None and process_start(worker[0]) == worker[1]


#: The project's code-location packages, dropped in each forked run so they load fresh from disk.
_PROJECT_PACKAGES = {"pipeline", "assets", "sensors", "wiring"}


# --- the zygote ---------------------------------------------------------------------------------


def serve() -> None:
    """The zygote's loop: import once, then fork one run process per request line on stdin."""
    for name in sys.argv[1:]:
        try:
            importlib.import_module(name)
        except ImportError:  # a missing optional storage only costs that import in each run
            traceback.print_exc()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps finished runs
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in `dagster dev` reaches runs, not this loop
    out = sys.stdout.buffer
    out.write(b"ready\n")
    out.flush()
    while line := sys.stdin.buffer.readline():
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _run(request)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        out.write(json.dumps({"pid": pid}).encode() + b"\n")
        out.flush()


def _run(request: dict[str, Any]) -> int:
    """In the forked child: become a plain run worker, then execute the run as ``dagster api execute_run``."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the zygote's pipes are not the run's
    os.dup2(2, 1)
    os.close(devnull)
    for name in [n for n in sys.modules if n.split(".", 1)[0] in _PROJECT_PACKAGES]:
        del sys.modules[name]  # the code location loads fresh from disk, as in a cold worker
    if request.get("cwd"):
        os.chdir(request["cwd"])
    args = deserialize_value(request["args"], ExecuteRunArgs)
    if args.instance_ref is None:  # the launcher always sends it; a run cannot start without an instance
        raise ValueError(f"run {args.run_id}: no instance reference in the launch request")
    with capture_interrupts(), DagsterInstance.from_ref(args.instance_ref) as instance:
        return _execute_run_command_body(
            args.run_id, instance, lambda _: None, set_exit_code_on_failure=False
        )
