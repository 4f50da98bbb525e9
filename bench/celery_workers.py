"""Sessions per minute on one vs two Celery workers, and a run's launch -> success on a warm worker.

The Celery deployment of tests/scaleout (PostgreSQL from ``TEST_POSTGRES_URL``, Redis from
``TEST_REDIS_URL`` or 127.0.0.1:6379, the local S3 server, offline providers): N text sessions of
N learners are uploaded at once and timed until all are DONE. On this 2-core machine the daemon,
the code server, PostgreSQL and the workers share the cores, so a second worker can't double it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.run_start import timeline
from bench.session_path import TEXT
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.cluster import Cluster, spare_redis_db
from tests.support.daemon import wait_for
from tests.support.s3_server import create_bucket, moto_s3_server


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--celery-sessions", type=int, default=24, help="sessions per Celery measurement")


def _fresh_database(server: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _drop_database(server: str, url: str) -> None:
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    admin.dispose()


def measure(workers: int, sessions: int, postgres: str, redis_url: str) -> dict[str, float]:
    database = _fresh_database(postgres)
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            moto_s3_server() as endpoint,
            spare_redis_db(redis_url) as redis_db,
        ):
            bucket = create_bucket(endpoint)
            env = {**bucket.env(), "DAGSTER_POSTGRES_URL": database, "STATUS_DB_URL": database,
                   "DAGSTER_CELERY_BROKER_URL": redis_db, "DAGSTER_CELERY_BACKEND_URL": redis_db,
                   "DAGSTER_COMPUTE_LOGS_BUCKET": bucket.name, "UPLOADS_URI": bucket.uri("uploads"),
                   "RESULTS_URI": bucket.uri("results"), "STT_PROVIDER": "offline", "ANALYZER_PROVIDER": "offline",
                   "SENSOR_INTERVAL_SECONDS": "1", "UPLOAD_QUIET_SECONDS": "1"}  # fmt: skip
            os.environ.update(env)  # this process reads the same instance
            cluster = Cluster(Path(tmp) / "home", env)
            status = StatusStore(database)
            try:
                cluster.start_code_server()
                for i in range(workers):
                    cluster.start_worker(f"worker{i + 1}")
                daemon = cluster.start_daemon()
                time.sleep(10)  # daemon and workers up: time the runs, not the boot
                keys = [f"cb{i:03d}" for i in range(sessions)]
                start = time.monotonic()
                for i, key in enumerate(keys):
                    prefix = f"uploads/learner{i}/{key}"
                    bucket.client.put_object(
                        Bucket=bucket.name, Key=f"{prefix}/transcript.txt", Body=f"{TEXT} {i}.".encode()
                    )
                    bucket.client.put_object(Bucket=bucket.name, Key=f"{prefix}/session.json", Body=b"{}")
                states = lambda: {s.session_id: s.state for s in status.list()}  # noqa: E731
                wait_for(lambda: all(states().get(k) is SessionState.DONE for k in keys), timeout=900,
                         what="sessions DONE", daemon=daemon, log=cluster.home / "daemon.log")  # fmt: skip
                wall = time.monotonic() - start
                with dg.DagsterInstance.from_config(str(cluster.home)) as instance:
                    marks = [
                        timeline(instance, run.run_id)
                        for run in instance.get_runs(dg.RunsFilter(job_name="session_job"))
                    ]
                launch = [m["RUN_SUCCESS"] - m["RUN_STARTING"] for m in marks]
            finally:
                cluster.stop()
                status.dispose()
    finally:
        _drop_database(postgres, database)
    return {"per_minute": sessions / wall * 60, "wall_s": wall, "launch_median_s": statistics.median(launch)}


def run(args: argparse.Namespace) -> bool:
    postgres = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
    one = measure(1, args.celery_sessions, postgres, redis_url)
    two = measure(2, args.celery_sessions, postgres, redis_url)
    sys.stdout.write(
        f"\nCelery workers, {args.celery_sessions} text sessions uploaded at once (offline providers, {os.cpu_count()} cores):\n"
        f"  1 worker : {one['per_minute']:6.1f} sessions/min (all DONE in {one['wall_s']:.1f} s), "
        f"median run launch->success {one['launch_median_s']:.2f} s\n"
        f"  2 workers: {two['per_minute']:6.1f} sessions/min (all DONE in {two['wall_s']:.1f} s), "
        f"median run launch->success {two['launch_median_s']:.2f} s\n"
        f"  2 vs 1: x{two['per_minute'] / one['per_minute']:.2f}\n"
    )
    return True
