"""A Celery deployment on this machine for tests and benchmarks: gRPC code server, daemon, Celery workers.

Every process is real and started the way deploy/README.md starts it; only the instance file is the
shipped deploy/celery/dagster.yaml with shorter monitoring intervals, so a lost worker is noticed in
seconds instead of minutes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import redis

from tests.support.daemon import ROOT

BIN = Path(sys.executable).parent
#: Shipped value -> test value: lost workers and stuck runs are noticed within seconds.
TEST_OVERRIDES = {
    "heartbeat_timeout_seconds: 60": "heartbeat_timeout_seconds: 5",
    "poll_interval_seconds: 60": "poll_interval_seconds: 2",
    "start_timeout_seconds: 300": "start_timeout_seconds: 120",
    "upload_interval: 30": "upload_interval: 5",
}


def test_instance_yaml() -> str:
    text = (ROOT / "deploy" / "celery" / "dagster.yaml").read_text()
    for old, new in TEST_OVERRIDES.items():
        assert old in text, f"deploy/celery/dagster.yaml no longer has {old!r}"
        text = text.replace(old, new)
    return text


test_instance_yaml.__test__ = False  # type: ignore[attr-defined] - a helper, not a pytest test


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def spare_redis_db(url: str) -> Iterator[str]:
    """An empty Redis database number of our own (claimed with a marker key), flushed afterwards."""
    base = url.rstrip("/").rsplit("/", 1)[0] if url.count("/") > 2 else url.rstrip("/")
    for number in range(15, 0, -1):
        client = redis.Redis.from_url(f"{base}/{number}")
        if client.dbsize() == 0 and client.set("speaking-pipeline:test-claim", "1", nx=True):
            try:
                yield f"{base}/{number}"
            finally:
                client.flushdb()
                client.close()
            return
        client.close()
    raise RuntimeError(f"no empty Redis database on {base}")


class Cluster:
    """The processes of a Celery deployment; each logs to ``home/<name>.log``."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.port = free_port()
        # PYTHONPATH: the checkout under test, also where the venv holds an editable install of another.
        self.env = {
            **os.environ,
            **env,
            "DAGSTER_HOME": str(home),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        }
        self.processes: dict[str, subprocess.Popen] = {}
        home.mkdir(parents=True, exist_ok=True)
        (home / "dagster.yaml").write_text(test_instance_yaml())
        self.workspace = home / "workspace.yaml"
        shipped = (ROOT / "deploy" / "celery" / "workspace.yaml").read_text()
        assert "port: 4000" in shipped
        self.workspace.write_text(shipped.replace("port: 4000", f"port: {self.port}"))

    def _start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.home / f"{name}.log", "ab")  # noqa: SIM115 - the child holds it
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes[name] = process
        return process

    def start_code_server(self) -> None:
        self._start(
            "code_server",
            [
                str(BIN / "dagster"),
                "api",
                "grpc",
                "-m",
                "wiring.definitions",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"code server did not listen:\n{self.log_tail('code_server')}")

    def start_daemon(self) -> subprocess.Popen:
        return self._start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(self.workspace)])

    def start_worker(
        self, name: str, env: dict[str, str] | None = None, queue: str = "dagster"
    ) -> subprocess.Popen:
        """A worker process; ``env`` overrides the cluster's (another Redis URL, another code version);
        ``queue``: another than the runs' keeps it on standby until told to consume ``dagster``."""
        return self._start(
            name,
            [
                str(BIN / "celery"), "-A", "launchers.celery_runs", "worker", "-Q", queue,
                "--concurrency", "1", "-n", f"{name}@%h", "--loglevel", "INFO",
                "--without-gossip", "--without-mingle",
            ],
            env,
        )  # fmt: skip

    def wait_ready(self, name: str, timeout: float = 120) -> None:
        """Until worker ``name`` has booted (its log says ``ready``): its preload done, its pool forked."""
        deadline = time.monotonic() + timeout
        while f"{name}@" not in self.log_tail(name, 100_000) or " ready." not in self.log_tail(name, 100_000):
            if time.monotonic() > deadline or self.processes[name].poll() is not None:
                raise AssertionError(f"worker {name} not ready:\n{self.log_tail(name)}")
            time.sleep(0.2)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the process and its children (a worker's pool child too), as when a machine dies."""
        process = self.processes[name]
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.log_tail(name)}" for name in self.processes)

    def stop(self) -> None:
        for _name, process in reversed(list(self.processes.items())):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    with suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
