"""A burst of uploads through the real daemon: the sensor's batched runs vs one run per session, side by side.

Each mode gets a fresh daemon, uploads folder and status store; the same N text sessions (over 8
learners) are dropped at once once the daemon is up, and we time until all are DONE. The one-run-each
mode sets ``SENSOR_BATCH_THRESHOLD`` out of reach, which is the sensor's behaviour before batching.
After the batched burst, lone uploads are dropped one at a time and timed upload -> DONE: the goal is
one sensor interval plus one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

from bench.session_path import drop_sessions
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.daemon import daemon_env, running_daemon, wait_for
from tests.support.sessions import add_session

TEXT = (
    "Yesterday I go to the market with my sister and we buy a apple and many orange. Um, she don't like "
    "the market because it is very very crowded, you know. Then we go home and then we cook and then we eat."
)
INTERVAL_SECONDS = 2
DAEMON_LOOP_SECONDS = (
    5  # dagster._daemon.sensor.MIN_INTERVAL_LOOP_TIME: sensors are evaluated at most this often
)
GOAL_RATIO = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--burst-sessions", type=int, default=200, help="sessions dropped at once")
    parser.add_argument("--lone-uploads", type=int, default=5, help="lone uploads timed after the burst")


def _done(status: StatusStore, keys: list[str]) -> bool:
    rows = status.get_many(keys)
    return len(rows) == len(keys) and all(r.state is SessionState.DONE for r in rows.values())


def burst(count: int, *, batched: bool, lone: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        uploads, home, status_url = root / "uploads", root / "home", f"sqlite:///{root}/status.db"
        env = daemon_env(
            root,
            SENSOR_INTERVAL_SECONDS=str(INTERVAL_SECONDS),
            UPLOAD_QUIET_SECONDS="1",
            **({} if batched else {"SENSOR_BATCH_THRESHOLD": "1000000"}),
        )
        uploads.mkdir()
        status = StatusStore(status_url)
        with running_daemon(home, env) as daemon:
            time.sleep(8)  # let the daemon and code server start, so we time the pipeline, not the boot
            start = time.time()
            keys = drop_sessions(uploads, count, "b", learners=8)
            wait_for(
                lambda: _done(status, keys),
                timeout=1800,
                what="the burst DONE",
                daemon=daemon,
                log=home / "daemon.log",
            )
            wall = time.time() - start
            latencies = []
            for i in range(lone):
                time.sleep(INTERVAL_SECONDS * 1.3)  # land anywhere in the sensor's interval
                dropped = time.time()
                key = f"lone{i}"
                add_session(uploads, "lonely", key, text=f"{TEXT} Alone {i}.")
                wait_for(
                    lambda k=key: _done(status, [k]),
                    timeout=120,
                    what=f"{key} DONE",
                    daemon=daemon,
                    log=home / "daemon.log",
                )
                latencies.append(status.get(key).updated_at.timestamp() - dropped)
            with dg.DagsterInstance.from_config(str(home)) as instance:
                runs = instance.get_runs()
                lone_runs = [
                    r.end_time - r.create_timestamp.timestamp()
                    for r in instance.get_run_records()
                    if r.dagster_run.tags.get("dagster/partition", "").startswith("lone") and r.end_time
                ]
        status.dispose()
    return {
        "sessions": count,
        "wall_s": wall,
        "runs": len(runs) - lone,
        "lone_median_s": statistics.median(latencies) if latencies else float("nan"),
        "lone_run_median_s": statistics.median(lone_runs) if lone_runs else float("nan"),
    }


def run(args: argparse.Namespace) -> bool:
    batched = burst(args.burst_sessions, batched=True, lone=args.lone_uploads)
    single = burst(args.burst_sessions, batched=False, lone=0)
    ratio = single["wall_s"] / batched["wall_s"]
    interval = max(INTERVAL_SECONDS, DAEMON_LOOP_SECONDS)
    lone_goal = interval + batched["lone_run_median_s"]
    out = sys.stdout
    out.write(
        f"\nupload burst, real daemon, {batched['sessions']} text sessions over 8 learners dropped at once "
        f"(sensor interval {INTERVAL_SECONDS} s, max 4 concurrent runs):\n"
        f"  {'mode':<22} {'all DONE after':>15} {'runs':>6} {'s/session':>10}\n"
        f"  {'batched (default)':<22} {batched['wall_s']:>13.1f} s {batched['runs']:>6} "
        f"{batched['wall_s'] / batched['sessions']:>10.3f}\n"
        f"  {'one run each':<22} {single['wall_s']:>13.1f} s {single['runs']:>6} "
        f"{single['wall_s'] / single['sessions']:>10.3f}\n"
        f"  batching is {ratio:.1f}x faster (goal >= {GOAL_RATIO:.0f}x: {'met' if ratio >= GOAL_RATIO else 'NOT met'})\n"
        f"  lone upload -> DONE, median of {args.lone_uploads}: {batched['lone_median_s']:.1f} s; goal: one "
        f"sensor interval (effectively {interval} s: the daemon evaluates sensors at most every "
        f"{DAEMON_LOOP_SECONDS} s) plus one run ({batched['lone_run_median_s']:.1f} s from request to end, "
        f"median, queueing included) = {lone_goal:.1f} s: {'met' if batched['lone_median_s'] <= lone_goal else 'NOT met'}\n"
    )
    return ratio >= GOAL_RATIO


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main())
