"""Sessions per minute on 1, 2, 4 and 8 Celery workers: the scaling curve of the Celery deployment.

Each measurement is a fresh deployment of tests/support/cluster.py (PostgreSQL from
``TEST_POSTGRES_URL``, a password-protected ``redis-server`` of its own, the local S3 server, the real
daemon, sensor, code server and workers): N workers of one run at a time each, the instance's
``max_concurrent_runs`` set to N (as deploy/README.md sizes it), in-run concurrency 1
(``RUN_CONCURRENCY``), and one burst of text sessions of distinct learners uploaded at once, which
the sensor spreads over the N run slots. A session's one paid stage is an analysis call that the
local fake API answers after 2 s (standing in for a CPU-bound stage on a machine of its own), so a
worker is busy 2 s per session plus what the run costs around it. Printed per measurement: the
wall time to all DONE, and the CPU seconds the daemon, the code server and PostgreSQL (the backends
of the bench's own database) spent per run and per session, so the curve can be read for a bigger
cluster: with C cores for them, they stop scaling near C / (CPU seconds per session) sessions/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from bench.celery_workers import _drop_database, _fresh_database
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.cluster import Cluster
from tests.support.daemon import wait_for
from tests.support.fake_api import FakeAPI
from tests.support.redis_fixtures import own_redis
from tests.support.s3_server import create_bucket, moto_s3_server

WORKERS = (1, 2, 4, 8)
ACCOUNT_OUT_OF_REACH = (
    '{"anthropic": {"concurrency": 1000, "rpm": 1000000, "input_tpm": 1000000000, "output_tpm": 1000000000}}'
)
TICKS = os.sysconf("SC_CLK_TCK")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scaling-sessions", type=int, default=48, help="sessions per measurement of the scaling curve"
    )
    parser.add_argument(
        "--scaling-workers", default=",".join(map(str, WORKERS)), help="worker counts, comma-separated"
    )


def cpu_seconds(pid: int, *, tree: bool = True) -> float:
    """User + system CPU of a process (``tree``: and its children, live or reaped) so far; 0 once gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    own = sum(int(f) for f in fields[11 : 15 if tree else 13]) / TICKS
    if not tree:
        return own
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return own + sum(cpu_seconds(child) for child in children)


@contextmanager
def backend_cpu(database_url: str) -> Iterator[dict[str, float]]:
    """CPU seconds of PostgreSQL while the body runs: ``cpu_s``, the backends of ``database_url`` seen by
    sampling pg_stat_activity twice a second (a lower bound: Dagster's short-lived connections slip
    between samples), and ``server_cpu_s``, the whole local server (an upper bound: it is shared)."""
    engine = sa.create_engine(database_url, pool_size=1)
    name = engine.url.database
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    stop = threading.Event()
    result: dict[str, float] = {"cpu_s": 0.0}

    def sample() -> None:
        initial = True  # backends there before the body: only their CPU from now on counts
        with engine.connect() as conn:
            while not stop.wait(0.5):
                pids = conn.exec_driver_sql(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)
                ).scalars()
                for pid in pids:
                    now = cpu_seconds(pid, tree=False)
                    first.setdefault(pid, now if initial else 0.0)
                    last[pid] = max(last.get(pid, 0.0), now)
                initial = False

    def counters() -> tuple[int, float]:
        """Connections opened to the database so far, and its backends' time in statements (ms)."""
        with engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT sessions, active_time FROM pg_stat_database WHERE datname = %s", (name,)
            ).one()
        return int(row[0]), float(row[1])

    with engine.connect() as conn:  # the postmaster: its reaped children's CPU includes every backend's
        data_dir = conn.exec_driver_sql("SHOW data_directory").scalar_one()
    sessions_before, active_before = counters()
    postmaster = int((Path(data_dir) / "postmaster.pid").read_text().split()[0])
    server_before = cpu_seconds(postmaster)
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join(timeout=5)
        result["cpu_s"] = sum(last[pid] - first.get(pid, 0.0) for pid in last)
        result["server_cpu_s"] = cpu_seconds(postmaster) - server_before
        sessions_after, active_after = counters()
        result["connections"] = sessions_after - sessions_before - 2  # less the sampler's and counters()' own
        result["active_s"] = (active_after - active_before) / 1000
        engine.dispose()


def measure(workers: int, sessions: int, postgres: str, redis_url: str) -> dict[str, float]:
    database = _fresh_database(postgres)
    try:
        with tempfile.TemporaryDirectory() as tmp, moto_s3_server() as endpoint, FakeAPI(latency=2.0) as fake:
            bucket = create_bucket(endpoint)
            env = {**bucket.env(), "DAGSTER_POSTGRES_URL": database, "STATUS_DB_URL": database,
                   "DAGSTER_CELERY_BROKER_URL": redis_url, "DAGSTER_CELERY_BACKEND_URL": redis_url,
                   "DAGSTER_COMPUTE_LOGS_BUCKET": bucket.name, "UPLOADS_URI": bucket.uri("uploads"),
                   "RESULTS_URI": bucket.uri("results"), "STT_PROVIDER": "offline",
                   "ANALYZER_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "sk-ant-bench-not-a-real-key",
                   "ANTHROPIC_BASE_URL": fake.anthropic_base_url, "RUN_CONCURRENCY": "1",
                   "SENSOR_INTERVAL_SECONDS": "1", "UPLOAD_QUIET_SECONDS": "1",
                   # The stage stands in for work on a machine of its own, not a shared account: the
                   # default Anthropic limits (50 requests per minute) would cap every worker count.
                   "PROVIDER_LIMITS_JSON": ACCOUNT_OUT_OF_REACH}  # fmt: skip
            os.environ.update(env)  # this process reads the same instance
            cluster = Cluster(Path(tmp) / "home", env)
            instance_yaml = cluster.home / "dagster.yaml"
            text = instance_yaml.read_text()
            assert "max_concurrent_runs: 8" in text
            instance_yaml.write_text(
                text.replace("max_concurrent_runs: 8", f"max_concurrent_runs: {workers}")
            )
            status = StatusStore(database)
            try:
                cluster.start_code_server()
                for i in range(workers):
                    cluster.start_worker(f"worker{i + 1}")
                daemon = cluster.start_daemon()
                for i in range(workers):  # time the runs, not the boot
                    cluster.wait_ready(f"worker{i + 1}", timeout=300)
                time.sleep(10)  # the daemon's first ticks
                keys = [f"cs{i:03d}" for i in range(sessions)]
                processes = {"daemon": daemon.pid, "code server": cluster.processes["code_server"].pid}
                processes |= {
                    name: p.pid for name, p in cluster.processes.items() if name.startswith("worker")
                }
                before = {name: cpu_seconds(pid) for name, pid in processes.items()}
                with backend_cpu(database) as postgres_cpu:
                    start = time.monotonic()
                    for i, key in enumerate(keys):
                        prefix = f"uploads/learner{i:03d}/{key}"
                        body = f"Session {i}: yesterday I go to the market and I buy a apple.".encode()
                        bucket.client.put_object(
                            Bucket=bucket.name, Key=f"{prefix}/transcript.txt", Body=body
                        )
                        bucket.client.put_object(Bucket=bucket.name, Key=f"{prefix}/session.json", Body=b"{}")
                    states = lambda: {s.session_id: s.state for s in status.list()}  # noqa: E731
                    wait_for(lambda: all(states().get(k) is SessionState.DONE for k in keys), timeout=1200,
                             what="sessions DONE", daemon=daemon, log=cluster.home / "daemon.log")  # fmt: skip
                    wall = time.monotonic() - start
                used = {name: cpu_seconds(pid) - before[name] for name, pid in processes.items()}
                with dg.DagsterInstance.from_config(str(cluster.home)) as instance:
                    runs = instance.get_runs_count(dg.RunsFilter(job_name="session_job"))
                paid = fake.paid_calls
            finally:
                cluster.stop()
                status.dispose()
    finally:
        _drop_database(postgres, database)
    return {
        "per_minute": sessions / wall * 60,
        "wall_s": wall,
        "runs": runs,
        "paid": paid,
        "daemon_cpu_s": used["daemon"],
        "code_server_cpu_s": used["code server"],
        "workers_cpu_s": sum(v for name, v in used.items() if name.startswith("worker")),
        "postgres_cpu_s": postgres_cpu["cpu_s"],
        "postgres_server_cpu_s": postgres_cpu["server_cpu_s"],
        "postgres_connections": postgres_cpu["connections"],
        "postgres_active_s": postgres_cpu["active_s"],
    }


def run(args: argparse.Namespace) -> bool:
    postgres = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    counts = [int(n) for n in args.scaling_workers.split(",")]
    sessions = args.scaling_sessions
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, contextmanager(own_redis)(Path(tmp)) as redis_url:
        for workers in counts:
            results[workers] = r = measure(workers, sessions, postgres, f"{redis_url}/0")
            sys.stdout.write(
                f"{workers} worker(s): {r['per_minute']:6.1f} sessions/min ({sessions} sessions DONE in "
                f"{r['wall_s']:.1f} s, {r['runs']:.0f} runs, {r['paid']:.0f} paid calls); CPU per run: daemon "
                f"{r['daemon_cpu_s'] / r['runs']:.2f} s, workers {r['workers_cpu_s'] / r['runs']:.2f} s, code server {r['code_server_cpu_s'] / r['runs']:.2f} s, "
                f"PostgreSQL {r['postgres_cpu_s'] / r['runs']:.2f}-{r['postgres_server_cpu_s'] / r['runs']:.2f} s "
                f"({r['postgres_connections'] / r['runs']:.0f} connections opened, "
                f"{r['postgres_active_s'] / r['runs']:.2f} s in statements); "
                f"per session: daemon {r['daemon_cpu_s'] / sessions:.3f} s, PostgreSQL "
                f"{r['postgres_cpu_s'] / sessions:.3f}-{r['postgres_server_cpu_s'] / sessions:.3f} s "
                f"(own database's backends sampled - whole server, shared with other tests) "
                f"(load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)\n"
            )
            sys.stdout.flush()
    base, top = counts[0], counts[-1]
    curve = ", ".join(f"{n} worker{'s' if n > 1 else ''} {results[n]['per_minute']:.1f}/min" for n in counts)
    ratio = results[top]["per_minute"] / results[base]["per_minute"]
    sys.stdout.write(f"celery scaling: {curve} = {ratio:.2f} x at {top}\n")
    return True
