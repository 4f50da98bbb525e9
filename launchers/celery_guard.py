"""Fencing of a run's attempts on Celery workers: one attempt owns a run at a time, the others stop.

An attempt is one Celery task executing (or resuming) a run; its id is the task id, which the
launcher records on the run (``dagster-celery/task_id``) before the task is sent, so the run always
names its current attempt. The attempt that starts writes itself as the run's holder
(``speaking/attempt_holder``: attempt, host, pid) and keeps a lease in Redis (the heartbeat key,
holding the same string, expiring ``ttl`` seconds after its last renewal by Redis's own clock).

Two things end an attempt that is no longer current, before it can write a result or a
materialization: a worker that cannot renew its lease for half the ttl (it is cut off from Redis,
and run monitoring will resume the run elsewhere once the lease expires), or finds it held by
another attempt, stops its process itself; and before each stage the step checks that the run still
names it (``wiring.attempts``, the ``Services.checkpoint`` hook). Stopping is
``os._exit``: the stale attempt then writes nothing at all, exactly as if its machine had died,
which is the case the resume path already handles.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis

logger = logging.getLogger(__name__)

#: The run's current attempt (the Celery task id), set by the launcher before the task is sent.
ATTEMPT_TAG = "dagster-celery/task_id"
#: Who executes the run's current attempt: ``attempt=<task id> host=<hostname> pid=<pid>``.
HOLDER_TAG = "speaking/attempt_holder"
#: When the current attempt was sent (unix seconds): a task still PENDING long after is lost.
SENT_AT_TAG = "speaking/attempt_sent_at"
#: The code version (``SPEAKING_CODE_VERSION``) the run was launched with; workers of another refuse it.
CODE_VERSION_TAG = "speaking/code_version"
CODE_VERSION_ENV = "SPEAKING_CODE_VERSION"
#: Exit status of a worker process that stopped a stale attempt (shown by Celery as the pool process's exit).
STALE_EXIT = 75


def heartbeat_key(run_id: str) -> str:
    return f"speaking-pipeline:run-heartbeat:{run_id}"


def code_version() -> str:
    """This process's code version; unset means "unversioned" (a development checkout)."""
    return os.environ.get(CODE_VERSION_ENV, "").strip() or "unversioned"


@dataclass(frozen=True)
class Holder:
    attempt: str
    host: str
    pid: int

    def __str__(self) -> str:
        return f"attempt={self.attempt} host={self.host} pid={self.pid}"

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        fields = dict(part.split("=", 1) for part in text.split() if "=" in part)
        try:
            return cls(fields["attempt"], fields["host"], int(fields["pid"]))
        except (KeyError, ValueError):
            return None

    @classmethod
    def me(cls, attempt: str) -> Holder:
        return cls(attempt, socket.gethostname(), os.getpid())


def stop_stale(run_id: str, reason: str) -> None:
    """Stop this process at once, writing nothing more for the run (see the module docstring)."""
    logger.error("stopping run %s in pid %s: %s", run_id, os.getpid(), reason)
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(STALE_EXIT)


@contextmanager
def lease(url: str, run_id: str, holder: Holder, ttl: float) -> Iterator[None]:
    """Hold the run's heartbeat lease while the body runs; lose it for ``ttl / 2`` and the process stops.

    A dedicated client with short socket timeouts: the result backend's (120 s by default) would
    let a partitioned worker block past its own deadline. The key is left to expire afterwards, so
    the task's final state is stored before the lease goes.
    """
    client = redis.Redis.from_url(
        url, socket_timeout=max(ttl / 6, 0.2), socket_connect_timeout=max(ttl / 6, 0.2)
    )
    key, value = heartbeat_key(run_id), str(holder)
    client.set(key, value, ex=max(int(ttl), 1))
    renewed = time.monotonic()
    stop = threading.Event()

    def beat() -> None:
        nonlocal renewed
        while not stop.wait(max(ttl / 6, 0.1)):
            try:
                raw = client.get(key)
                current = raw.decode() if isinstance(raw, bytes) else raw
                if current is not None and current != value:
                    stop_stale(run_id, f"its lease is held by {current}")
                client.set(key, value, ex=max(int(ttl), 1))
                renewed = time.monotonic()
            except redis.RedisError as exc:
                silent = time.monotonic() - renewed
                logger.warning("run %s: lease not renewed for %.1fs: %s", run_id, silent, exc)
                if silent >= ttl / 2 and not stop.is_set():
                    stop_stale(run_id, f"could not renew its lease for {silent:.1f}s (half the {ttl:g}s ttl)")

    thread = threading.Thread(target=beat, name=f"lease-{run_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=ttl)
        client.close()
