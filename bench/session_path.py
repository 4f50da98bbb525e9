"""Time per session: through the sensor and daemon (one run per session) and in batch runs, side by side.

1. The sensor path: N text sessions are dropped into the uploads folder of a real daemon; we time
   upload -> DONE per session and read each run's own duration from the instance.
2. In one process, the same N sessions materialized as N single-session runs vs one N-session run
   (what a backfill does with ``BackfillPolicy.multi_run``): the ratio is what batching buys.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.daemon import ROOT, daemon_env, running_daemon, wait_for
from tests.support.materialize import materialize_sessions, offline_resource
from tests.support.sessions import add_session

TEXT = (
    "Yesterday I go to the market with my sister and we buy a apple and many orange. Um, she don't like "
    "the market because it is very very crowded, you know. Then we go home and then we cook and then we eat."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--path-sessions", type=int, default=12, help="sessions through the daemon")
    parser.add_argument("--batch-sessions", type=int, default=40, help="sessions for the batch comparison")


def drop_sessions(uploads: Path, count: int, prefix: str, learners: int = 6) -> list[str]:
    """``count`` text sessions over ``learners`` learners, recorded a minute apart."""
    keys = []
    for i in range(count):
        key = f"{prefix}{i:04d}"
        add_session(
            uploads,
            f"learner{i % learners}",
            key,
            text=f"{TEXT} Session {i}.",
            manifest=f'{{"recorded_at": "2026-03-01T{i // 60 % 24:02d}:{i % 60:02d}:00Z"}}',
        )
        keys.append(key)
    return keys


def sensor_path(count: int, root: Path = ROOT) -> dict[str, float]:
    """``root``: the source tree the daemon loads (bench/run_start.py passes an older commit's)."""
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:  # runs may still flush
        base = Path(tmp)
        uploads, status_url = base / "uploads", f"sqlite:///{base}/status.db"
        # One run per session: bench upload_burst compares batching.
        env = daemon_env(base, SENSOR_BATCH_THRESHOLD="1000000", PYTHONPATH=str(root))
        uploads.mkdir()
        status = StatusStore(status_url)
        with running_daemon(base / "home", env, root=root) as daemon:
            time.sleep(8)  # let the daemon and code server start, so we time the pipeline, not the boot
            start = time.time()
            keys = drop_sessions(uploads, count, "p")
            wait_for(
                lambda: all((s := status.get(k)) is not None and s.state is SessionState.DONE for k in keys),
                timeout=900,
                what="sessions DONE",
                daemon=daemon,
                log=base / "home" / "daemon.log",
            )
            wall = time.time() - start
            with dg.DagsterInstance.from_config(str(base / "home")) as instance:
                records = instance.get_run_records(dg.RunsFilter(job_name="session_job"))  # not the views
                durations = [r.end_time - r.start_time for r in records if r.start_time and r.end_time]
                latencies = [s.updated_at.timestamp() - start for s in status.list()]
        return {
            "sessions": count,
            "wall_s": wall,
            "run_median_s": statistics.median(durations),
            "done_after_median_s": statistics.median(latencies),
            "per_session_wall_s": wall / count,
        }


def batch_vs_single(count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, dg.instance_for_test() as instance:
        root = Path(tmp)
        uploads = root / "uploads"
        single_keys, batch_keys = drop_sessions(uploads, count, "s"), drop_sessions(uploads, count, "b")
        resource = offline_resource(root, uploads)
        start = time.perf_counter()
        assert all(r.success for r in materialize_sessions(instance, resource, single_keys))
        single = time.perf_counter() - start
        start = time.perf_counter()
        assert all(r.success for r in materialize_sessions(instance, resource, batch_keys, batch=True))
        batch = time.perf_counter() - start
    return {
        "sessions": count,
        "single_runs_per_session_s": single / count,
        "batch_run_per_session_s": batch / count,
        "ratio": single / batch,
    }


def run(args: argparse.Namespace) -> bool:
    path = sensor_path(args.path_sessions)
    sys.stdout.write(
        f"\nsensor path, real daemon, {path['sessions']} text sessions over 6 learners (one run each, "
        f"max 4 concurrent runs, 1 per learner):\n"
        f"  all DONE after {path['wall_s']:.1f} s = {path['per_session_wall_s']:.2f} s per session of wall time; "
        f"median run {path['run_median_s']:.2f} s; median upload->DONE {path['done_after_median_s']:.1f} s\n"
    )
    batch = batch_vs_single(args.batch_sessions)
    sys.stdout.write(
        f"in-process, {batch['sessions']} sessions: one run per session {batch['single_runs_per_session_s'] * 1000:.0f} ms"
        f"/session vs one batch run {batch['batch_run_per_session_s'] * 1000:.0f} ms/session: "
        f"batching is {batch['ratio']:.1f}x cheaper\n"
    )
    return True
