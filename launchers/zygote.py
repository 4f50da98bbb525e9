"""The warm launcher's zygote: a process that has imported Dagster once and forks one worker per run.

Protocol (one JSON line each way on its stdin/stdout): ``ready`` once, then per request
``{"args": <ExecuteRunArgs>, "cwd": ..., "go_timeout": ...}`` it forks a worker and answers
``{"pid": N}``. The worker does nothing until its launcher says go: SIGUSR1 once the launcher has
recorded the worker's pid on the run (so a Terminate can always reach it), SIGINT if the run was
terminated meanwhile (the worker then reports it canceled). A worker that hears neither within
``go_timeout`` seconds exits without running: its launcher never learned its pid (the zygote died
or hung while answering) and launched the run another way.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import select
import signal
import sys
import time
import traceback
from typing import Any

from dagster import DagsterInstance
from dagster._cli.api import _execute_run_command_body
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import deserialize_value
from dagster._utils.interrupts import capture_interrupts

from launchers.run_workers import WORKER_NAME, ZYGOTE_NAME, name_process

logger = logging.getLogger(__name__)

#: What the zygote imports once, besides the instance's own storage classes: what a run worker
#: imports before it loads the code location, and the cloud providers' SDKs, which the core imports
#: only when a run first calls its provider: ``import anthropic`` took 2.1 s on 2 cores at load 3,
#: a fifth of a lone upload's run time goal, paid in every run (bench/backfill_priority.py).
#: Importing them starts no thread or connection, so forking after it is safe.
PRELOAD = (
    "dagster._cli.api",
    "dagster._core.execution.api",
    "dagster._core.storage.sql",
    "alembic.runtime.migration",
    "anthropic",
    "openai",
)
#: The signals a worker waits for before it runs: go, or terminated before it started.
GO, STOP = signal.SIGUSR1, signal.SIGINT
#: The project's code-location packages, dropped in each forked run so they load fresh from disk.
_PROJECT_PACKAGES = {"pipeline", "assets", "sensors", "wiring"}


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


def serve() -> None:
    """The zygote's loop: import once, then fork one run process per request line on stdin."""
    for name in sys.argv[1:]:
        try:
            importlib.import_module(name)
        except ImportError:  # a missing optional storage only costs that import in each run
            traceback.print_exc()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps finished runs
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in `dagster dev` reaches runs, not this loop
    # Blocked from the fork on, so a go or stop sent the moment the launcher knows the pid waits
    # for the worker's sigtimedwait.
    signal.pthread_sigmask(signal.SIG_BLOCK, {GO, STOP})
    name_process(ZYGOTE_NAME)
    out = sys.stdout.buffer
    out.write(b"ready\n")
    out.flush()
    while line := sys.stdin.buffer.readline():
        request = json.loads(line)
        name_process(WORKER_NAME)  # the worker is born with its name: an orphan killed at once is still known
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _run(request)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        name_process(ZYGOTE_NAME)
        out.write(json.dumps({"pid": pid}).encode() + b"\n")
        out.flush()


def _run(request: dict[str, Any]) -> int:
    """In the forked child: wait for go, become a plain run worker, execute the run as ``dagster api execute_run``."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the zygote's pipes are not the run's
    os.dup2(2, 1)
    os.close(devnull)
    args = deserialize_value(request["args"], ExecuteRunArgs)
    heard = signal.sigtimedwait({GO, STOP}, float(request.get("go_timeout", 120)))
    if heard is None:
        logger.warning("run %s: no go from the launcher, which launched it another way", args.run_id)
        return 0
    if args.instance_ref is None:  # the launcher always sends it; a run cannot start without an instance
        raise ValueError(f"run {args.run_id}: no instance reference in the launch request")
    if heard.si_signo == STOP:
        with DagsterInstance.from_ref(args.instance_ref) as instance:
            run = instance.get_run_by_id(args.run_id)
            if run is not None and not run.is_finished:
                instance.report_run_canceled(run, "terminated before its worker started")
        return 0
    for name in [n for n in sys.modules if n.split(".", 1)[0] in _PROJECT_PACKAGES]:
        del sys.modules[name]  # the code location loads fresh from disk, as in a cold worker
    if request.get("cwd"):
        os.chdir(request["cwd"])
    with capture_interrupts(), DagsterInstance.from_ref(args.instance_ref) as instance:
        signal.signal(GO, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {GO, STOP})  # a Terminate from now on cancels cleanly
        return _execute_run_command_body(
            args.run_id, instance, lambda _: None, set_exit_code_on_failure=False
        )
