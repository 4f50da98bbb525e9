"""Run worker processes on this host: which process a run's worker is, whether it lives, and reaping.

A worker is named by its pid and its start time (``<pid>@<start time>`` in the run tag
``speaking/run_worker``), so a reused pid is never taken for it. Forked workers are born named
``speaking-run`` (their ``comm``: the zygote takes the name for the instant of each fork); the launching process is a child subreaper, so a worker whose
zygote died is re-parented to it (not to PID 1, which in a container never reaps) and reaped here.
For a run launched through a code server on this host, the worker is the process named by the
run's "Started process for run (pid: …)" event.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from pathlib import Path
from typing import Any

from dagster import DagsterEventType, DagsterInstance

logger = logging.getLogger(__name__)

PID_TAG = "speaking/run_worker"
#: What a forked worker and the zygote call themselves (``ps``, ``/proc/<pid>/comm``; at most 15 bytes).
WORKER_NAME, ZYGOTE_NAME = b"speaking-run", b"speaking-zygote"
_PR_SET_NAME, _PR_SET_CHILD_SUBREAPER = 15, 36
#: How often the reaper looks for exited orphans.
REAP_INTERVAL_SECONDS = 2.0


def _stat(pid: int) -> tuple[bytes, list[bytes]] | None:
    """(comm, the fields after it) of /proc/<pid>/stat; None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    head, _, tail = raw.rpartition(b")")
    fields = tail.split()
    return (head.partition(b"(")[2], fields) if len(fields) > 19 else None  # None: it exited mid-read


def process_start(pid: int) -> str | None:
    """The process's start time (clock ticks since boot): with the pid, it names one process, never a reused pid."""
    stat = _stat(pid)
    if stat is None or stat[1][0] == b"Z":  # stat[1][0] is stat's 3rd field, state
        return None
    return stat[1][19].decode()


def started_at(start: str) -> float:
    """A process start time (ticks since boot) as a Unix timestamp."""
    boot = next(
        float(line.split()[1])
        for line in Path("/proc/stat").read_text().splitlines()
        if line.startswith("btime")
    )
    return boot + int(start) / os.sysconf("SC_CLK_TCK")


def worker_of(run: Any) -> tuple[int, str] | None:
    """The run's worker as (pid, start time), from its tag; None if none is recorded."""
    pid, _, started = run.tags.get(PID_TAG, "").partition("@")
    return (int(pid), started) if pid else None


def run_worker_alive(run: Any) -> bool:
    """Whether the run's worker process is still running (the one recorded, by pid and start time)."""
    worker = worker_of(run)
    return worker is not None and process_start(worker[0]) == worker[1]


def code_server_worker(instance: DagsterInstance, run_id: str) -> str | None:
    """``<pid>@<start time>`` of the worker a code server on this host started for the run.

    The worker itself logs "Started process for run (pid: N)"; the process is taken as that worker
    only if it started before the event was written (else the pid was reused). ``<pid>@gone`` if it
    has exited already; None while the event is not written yet.
    """
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT).records
    for record in reversed(records):  # a resumed run logs a later worker
        event = record.event_log_entry.dagster_event
        if event is None or event.engine_event_data is None:
            continue
        metadata = event.engine_event_data.metadata
        if "pid" not in metadata or not (event.message or "").startswith("Started process for run"):
            continue
        pid = int(str(metadata["pid"].value))
        start = process_start(pid)
        if start is None or started_at(start) > record.event_log_entry.timestamp + 2:
            return f"{pid}@gone"
        return f"{pid}@{start}"
    return None


def _prctl(option: int, value: int | bytes) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux
        return False


def name_process(name: bytes) -> None:
    """Rename the calling process (its ``comm``); a child forked after this is born with the name."""
    _prctl(_PR_SET_NAME, name)


def reap_orphans() -> list[int]:
    """Reap this process's exited children that are forked run workers (orphans of a dead zygote)."""
    me, reaped = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None or stat[0] != WORKER_NAME or stat[1][0] != b"Z" or int(stat[1][1]) != me:
            continue
        try:
            if os.waitpid(int(entry.name), os.WNOHANG)[0]:
                reaped.append(int(entry.name))
        except ChildProcessError:  # reaped by someone else meanwhile
            pass
    return reaped


class Reaper:
    """Makes this process a child subreaper and reaps orphaned run workers every few seconds."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        if not _prctl(_PR_SET_CHILD_SUBREAPER, 1):
            logger.warning("cannot become a child subreaper: workers of a dead zygote go to PID 1")
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="run-worker-reaper", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(REAP_INTERVAL_SECONDS):
            try:
                for pid in reap_orphans():
                    logger.info("reaped orphaned run worker %s", pid)
            except Exception:  # never let one bad pass end the reaping
                logger.exception("reaping orphaned run workers failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=REAP_INTERVAL_SECONDS + 1)
            self._thread = None
