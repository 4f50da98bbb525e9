"""``make run``'s supervisor: ``dagster dev`` in a process group of its own, stopped whole on a signal.

``python -m wiring.supervise [--port 3000] [--host 127.0.0.1]`` starts ``dagster dev`` in a new
session, so its process group holds everything it starts: the webserver, the daemon, the code
server, the run zygote and the run workers. Ctrl-C (SIGINT to the terminal's process group), SIGTERM
(systemd, ``docker stop``, or make passing on its own SIGTERM) or SIGHUP stop all of it:

1. the runs in flight are marked ``CANCELING`` (``wiring.interrupted``), as a terminate does;
2. the whole group gets SIGINT: Dagster's own shutdown, and each run worker cancels its run and
   fails its sessions in flight as interrupted;
3. whatever is still alive after ``GRACE_SECONDS`` (Dagster waits up to 10 s per service on its
   own) is killed, the group at once;
4. runs still in flight are reported ``CANCELED`` and their unfinished sessions failed as
   interrupted, so the next start finds nothing ``STARTED`` and the port free.

A second signal while stopping skips the rest of the grace period.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported in a thread while dagster dev starts (wiring.interrupted)
    from dagster import DagsterInstance

logger = logging.getLogger("wiring.supervise")

#: What Dagster's own shutdown gets before the group is killed; keeps a stop well under 10 s.
GRACE_SECONDS = 5.0
#: How long the killed group is given to be gone (the kernel's part).
KILL_WAIT_SECONDS = 3.0
POLL_SECONDS = 0.1


def group_members(pgid: int) -> list[int]:
    """Pids of the live (not zombie) processes in process group ``pgid``, wherever they were reparented."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if fields[0] != b"Z" and int(fields[2]) == pgid:  # state, ppid, pgrp
            members.append(int(entry.name))
    return members


def port_holder(host: str, port: int) -> str | None:
    """Why ``port`` cannot be listened on (another process holds it), or None when it is free."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the webserver binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


class Supervisor:
    """Runs ``command`` as a process-group leader and stops the whole group on ``stop()``."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        grace: float = GRACE_SECONDS,
        before_interrupt: Callable[[], object] = lambda: None,
        after_stop: Callable[[], object] = lambda: None,
        stopping: threading.Event | None = None,
    ) -> None:
        self.command = list(command)
        self.grace = grace
        self.before_interrupt = before_interrupt
        self.after_stop = after_stop
        self._stop = stopping or threading.Event()
        self._hurry = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None

    def request_stop(self, signum: int, _frame: object = None) -> None:
        """The signal handler: the first signal stops, a second one skips the grace period."""
        if self._stop.is_set():
            logger.info("%s again: killing what is left now", signal.Signals(signum).name)
            self._hurry.set()
        else:
            logger.info("%s received: stopping every process make run started", signal.Signals(signum).name)
        self._stop.set()

    def run(self) -> int:
        """Start the command, wait for a stop request or its exit, then stop the group; its exit code."""
        self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, start_new_session=True)
        while self.process.poll() is None and not self._stop.wait(POLL_SECONDS):
            pass
        started = time.monotonic()
        code = self.stop_group()
        logger.info("stopped in %.1f s", time.monotonic() - started)
        return code

    def stop_group(self) -> int:
        assert self.process is not None
        pgid = self.process.pid  # the leader of its own session and group
        if self.process.poll() is None:
            try:
                self.before_interrupt()
            except Exception:  # a failed look at the runs must not keep anything running
                logger.exception("could not mark the runs in flight as canceling")
            self._signal_group(pgid, signal.SIGINT)
        deadline = time.monotonic() + self.grace
        while group_members(pgid) and time.monotonic() < deadline and not self._hurry.is_set():
            self._reap()
            time.sleep(POLL_SECONDS)
        left = group_members(pgid)
        if left:
            logger.warning("%d process(es) still running after %.0f s: killing them", len(left), self.grace)
            self._signal_group(pgid, signal.SIGKILL)
            deadline = time.monotonic() + KILL_WAIT_SECONDS
            while group_members(pgid) and time.monotonic() < deadline:
                self._reap()
                time.sleep(POLL_SECONDS)
        code = self.process.wait()
        try:
            self.after_stop()
        except Exception:
            logger.exception(
                "could not end the interrupted runs; the run monitor fails them at the next start"
            )
        return 0 if self._stop.is_set() else code

    def _reap(self) -> None:
        assert self.process is not None
        self.process.poll()  # the leader is our child: reap it, or it stays a zombie in the group

    @staticmethod
    def _signal_group(pgid: int, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # the group is gone already
            os.killpg(pgid, signum)


def dagster_dev_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", host, "-p", str(port)]


class _Runs:
    """The instance's side of a stop (``wiring.interrupted``), made ready while ``dagster dev`` starts
    so that a stop does not wait for imports: the instance is opened once the webserver answers
    (``dagster dev`` has created its storage by then), or at the stop if that comes first."""

    def __init__(self, host: str, port: int, stopping: threading.Event) -> None:
        self._instance: DagsterInstance | None = None
        self._canceling: list[str] = []
        self._lock = threading.Lock()
        self._prepared = threading.Thread(target=self._prepare, args=(host, port, stopping), daemon=True)
        self._prepared.start()

    def _prepare(self, host: str, port: int, stopping: threading.Event) -> None:
        import wiring.interrupted
        import wiring.resources  # noqa: F401

        while not stopping.is_set():
            with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
                self.instance()
                return
            stopping.wait(1.0)

    def instance(self) -> DagsterInstance:
        import dagster as dg

        with self._lock:
            if self._instance is None:
                self._instance = dg.DagsterInstance.get()
            return self._instance

    def mark_canceling(self) -> None:
        from wiring.interrupted import mark_canceling

        self._canceling = mark_canceling(self.instance())
        if self._canceling:
            logger.info("%d run(s) in flight marked CANCELING", len(self._canceling))

    def end_interrupted(self) -> None:
        from wiring.interrupted import end_interrupted
        from wiring.resources import PipelineResource

        instance = self.instance()
        marked = end_interrupted(instance, PipelineResource().status_store(), self._canceling)
        if marked:
            logger.info("%d session(s) left unfinished marked FAILED as interrupted", len(marked))
        instance.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wiring.supervise", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument(
        "--grace", type=float, default=GRACE_SECONDS, help="seconds before the group is killed"
    )
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()  # its own lines only, not those of the libraries it calls
    handler.setFormatter(logging.Formatter("%(asctime)s - supervise - %(levelname)s - %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    held = port_holder(args.host, args.port)
    if held:
        logger.error(
            "port %d on %s is taken (%s): another make run, or something else, is listening there; "
            "stop it or choose another port: make run PORT=%d",
            args.port,
            args.host,
            held,
            args.port + 1,
        )
        return 2
    stopping = threading.Event()
    supervisor = Supervisor(
        dagster_dev_command(args.host, args.port),
        grace=args.grace,
        stopping=stopping,
    )
    runs = _Runs(args.host, args.port, stopping)
    supervisor.before_interrupt, supervisor.after_stop = runs.mark_canceling, runs.end_interrupted
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, supervisor.request_stop)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
