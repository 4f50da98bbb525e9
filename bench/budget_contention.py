"""The shared budget's own cost under many threads: main before the in-process lock (from git) vs this tree.

A run keeps up to ``RUN_CONCURRENCY`` provider calls in flight, and each takes and gives back a
lease in the status database. Here ``--budget-threads`` threads in each of ``--budget-processes``
processes take a lease, hold it ``--budget-hold`` s (a short provider call) and give it back,
``--budget-rounds`` times, against one SQLite status database, with limits out of reach so only the
budget's bookkeeping is timed. Printed per tree and process count: leases per second over all
processes, the median and 95th percentile of one acquire and one release (ms), and errors (a
connection-pool timeout or ``database is locked``). With ``--budget-redis URL`` this tree's Redis
budget (``PROVIDER_BUDGET=redis``) is measured too.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.run_start import checkout

logger = logging.getLogger(__name__)
BEFORE = "1a70b77"  # main before the in-process lock

_WORKER = r"""
import json, statistics, sys, threading, time
from pipeline.config.limits import ProviderLimits
from pipeline.status.store import StatusStore
url, threads, rounds, hold, redis_url = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
limits = {"anthropic": ProviderLimits(concurrency=100_000)}
if redis_url:
    from pipeline.status.budget_redis import RedisProviderBudget
    budget = RedisProviderBudget(redis_url, limits)
else:
    from pipeline.status.budget import ProviderBudget
    budget = ProviderBudget(StatusStore(url).engine, limits)
acquires, releases, errors = [], [], []
start_line = threading.Barrier(threads)
def work():
    start_line.wait()
    for _ in range(rounds):
        try:
            t = time.perf_counter(); lease = budget.acquire("anthropic"); acquires.append(time.perf_counter() - t)
            time.sleep(hold)
            t = time.perf_counter(); budget.release(lease); releases.append(time.perf_counter() - t)
        except Exception as exc:
            errors.append(type(exc).__name__)
workers = [threading.Thread(target=work) for _ in range(threads)]
begin = time.perf_counter()
for w in workers: w.start()
for w in workers: w.join()
wall = time.perf_counter() - begin
q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(p * len(xs)))] * 1000 if xs else 0.0
print(json.dumps({"leases": len(releases), "wall": wall, "acq_p50": q(acquires, .5), "acq_p95": q(acquires, .95),
                  "rel_p50": q(releases, .5), "rel_p95": q(releases, .95), "errors": len(errors)}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget-threads", type=int, default=50, help="threads per process")
    parser.add_argument("--budget-rounds", type=int, default=20, help="leases each thread takes")
    parser.add_argument("--budget-hold", type=float, default=0.05, help="seconds a lease is held")
    parser.add_argument("--budget-redis", default="", help="also measure the Redis budget at this URL")


def measure(root: Path, processes: int, args: argparse.Namespace, redis_url: str = "") -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/status.db"
        env = {**os.environ, "PYTHONPATH": str(root)}
        argv = [url, str(args.budget_threads), str(args.budget_rounds), str(args.budget_hold), redis_url]
        if redis_url:
            import redis

            redis.Redis.from_url(redis_url).flushdb()
        subprocess.run([sys.executable, "-c", _WORKER, url, "1", "1", "0", redis_url], env=env, check=True,
                       cwd=root, capture_output=True)  # fmt: skip  # the schema exists before the timed runs
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _WORKER, *argv], env=env, cwd=root, stdout=subprocess.PIPE
            )
            for _ in range(processes)
        ]
        results = [json.loads(p.communicate()[0]) for p in procs]
    wall = max(r["wall"] for r in results)
    return {
        "leases_per_s": sum(r["leases"] for r in results) / wall,
        **{k: max(r[k] for r in results) for k in ("acq_p50", "acq_p95", "rel_p50", "rel_p95")},
        "errors": sum(r["errors"] for r in results),
    }


def run(args: argparse.Namespace) -> bool:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        before = checkout(BEFORE, Path(tmp) / "before")
        after = Path(__file__).resolve().parents[1]
        for processes in (1, 2):
            for label, root in ((f"before ({BEFORE})", before), ("after (this tree)", after)):
                results[f"{label}, {processes} proc"] = measure(root, processes, args)
            if args.budget_redis:
                results[f"after, Redis, {processes} proc"] = measure(
                    after, processes, args, args.budget_redis
                )
    out = [
        f"\nshared budget: {args.budget_threads} threads per process, each taking {args.budget_rounds} leases "
        f"held {args.budget_hold * 1000:.0f} ms, SQLite status database:",
        f"  {'':<34}{'leases/s':>10}{'acq p50':>9}{'acq p95':>9}{'rel p50':>9}{'rel p95':>9}{'errors':>8}  (ms)",
    ]
    for label, r in results.items():
        out.append(
            f"  {label:<34}{r['leases_per_s']:>10.0f}{r['acq_p50']:>9.1f}{r['acq_p95']:>9.1f}"
            f"{r['rel_p50']:>9.1f}{r['rel_p95']:>9.1f}{r['errors']:>8.0f}"
        )
    sys.stdout.write("\n".join(out) + "\n")
    return all(r["errors"] == 0 for label, r in results.items() if "after" in label)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    sys.exit(0 if run(parser.parse_args()) else 1)
