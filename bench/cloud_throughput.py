"""Cloud throughput at the provider's limit: main before this change (commit f6509d2, from git) vs this tree.

120 text sessions from 40 learners land at once in the uploads folder of a real daemon; analysis
goes through the official Anthropic SDK to the local fake API, each call taking 5 s, the fake
allowing 600 requests per rolling minute (``429`` + ``retry-after`` beyond). Printed per tree: wall
time from upload to the last DONE, effective requests per minute (over the calls' span: first
request to last answer, and over the wall time), the most calls in flight, 429s received, inputs
paid twice, and the largest resident memory of one process of the daemon's tree (a run worker).
Both trees get the same account limits (``PROVIDER_LIMITS_JSON``, which the old tree ignores: 600
requests/min and 150 in flight, since the account allows a whole 120-session burst within one
minute) and their own defaults otherwise (sensor interval, batch size).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.run_start import checkout
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.daemon import daemon_env, running_daemon, wait_for
from tests.support.fake_api import FakeAPI
from tests.support.sessions import add_session

logger = logging.getLogger(__name__)
BEFORE = "f6509d2"
TEXT = (
    "Yesterday I go to the market and I buy a apple. Um, it was very very good, you know. I has two brother."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cloud-sessions", type=int, default=120, help="sessions of the burst")
    parser.add_argument("--cloud-learners", type=int, default=40)
    parser.add_argument("--cloud-latency", type=float, default=5.0, help="seconds each analysis call takes")
    parser.add_argument(
        "--cloud-rpm", type=int, default=600, help="requests per minute the fake account allows"
    )
    parser.add_argument("--cloud-skip-before", action="store_true", help="measure this tree only")


def _rss_watch(root_pid: int, stop: threading.Event, out: list[int]) -> None:
    """The largest VmRSS (kB) of one process under ``root_pid``, sampled every 0.5 s."""
    while not stop.is_set():
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
            except (OSError, IndexError, ValueError):
                continue
        todo, tree = [root_pid], []
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += children.get(pid, [])
        for pid in tree:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out.append(int(line.split()[1]))
            except OSError:
                continue
        stop.wait(0.5)


def burst(root: Path, args: argparse.Namespace) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp,
        FakeAPI(latency=args.cloud_latency, rpm=args.cloud_rpm) as fake,
    ):
        base = Path(tmp)
        uploads = base / "uploads"
        uploads.mkdir()
        env = daemon_env(base, PYTHONPATH=str(root), ANALYZER_PROVIDER="anthropic", ANTHROPIC_API_KEY="sk-bench",
                         ANTHROPIC_BASE_URL=fake.anthropic_base_url, ANTHROPIC_CONFIG_DIR=str(base / "anthropic"),
                         PROVIDER_LIMITS_JSON=json.dumps({"anthropic": {"concurrency": 150, "rpm": args.cloud_rpm,
                                                                        "input_tpm": 10**8, "output_tpm": 10**8}}),
                         RUN_CONCURRENCY="50")  # fmt: skip
        env.pop("SENSOR_INTERVAL_SECONDS")  # each tree's own default
        status = StatusStore(f"sqlite:///{base}/status.db")
        rss: list[int] = []
        stop = threading.Event()
        with running_daemon(base / "home", env, root=root) as daemon:
            watcher = threading.Thread(target=_rss_watch, args=(daemon.pid, stop, rss), daemon=True)
            watcher.start()
            time.sleep(
                8
            )  # the daemon, its code server and the warm launcher up: time the burst, not the boot
            keys = [f"c{i:04d}" for i in range(args.cloud_sessions)]
            staging = base / "staging"  # written beside, then moved in: the burst lands at once
            for i, key in enumerate(keys):
                add_session(
                    staging, f"learner{i % args.cloud_learners:03d}", key, text=f"{TEXT} Session {key}."
                )
            start = time.time()
            for learner in sorted(staging.iterdir()):
                learner.rename(uploads / learner.name)

            def all_done() -> bool:
                rows = status.get_many(keys)
                return len(rows) == len(keys) and all(
                    r.state in (SessionState.DONE, SessionState.FAILED) for r in rows.values()
                )

            wait_for(
                all_done,
                timeout=1800,
                what="every session DONE",
                daemon=daemon,
                log=base / "home" / "daemon.log",
            )
            wall = time.time() - start
            stop.set()
            watcher.join()
        rows = status.get_many(keys)
        status.dispose()
        calls = list(fake.calls)
    paid = [c for c in calls if c["paid"]]
    digests = [
        hashlib.sha256(json.dumps(c["request"].get("messages"), sort_keys=True).encode()).hexdigest()
        for c in paid
    ]
    arrivals = sorted(c["at"] for c in calls)
    first = arrivals[0]
    logger.info("arrivals by second after the first: %s", [round(a - first) for a in arrivals])
    last = max(c["at"] for c in calls) + args.cloud_latency  # `at` is when a request arrived
    return {
        "wall_s": wall,
        "done": sum(r.state is SessionState.DONE for r in rows.values()),
        "requests": len(calls),
        "rpm_span": len(paid) / (last - first) * 60,
        "rpm_wall": len(paid) / wall * 60,
        "max_in_flight": fake.max_in_flight,
        "rate_limited": fake.rate_limited,
        "paid_twice": len(digests) - len(set(digests)),
        "max_rss_mb": max(rss, default=0) / 1024,
    }


def run(args: argparse.Namespace) -> bool:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"after (this tree)": Path(__file__).resolve().parents[1]}
        if not args.cloud_skip_before:
            trees = {f"before ({BEFORE})": checkout(BEFORE, Path(tmp) / "before"), **trees}
        for label, root in trees.items():
            results[label] = burst(root, args)
            logger.info("cloud_throughput %s: %s", label, results[label])
    out = [
        f"\ncloud throughput: {args.cloud_sessions} text sessions from {args.cloud_learners} learners at once, "
        f"{args.cloud_latency:.0f} s per call, the account allowing {args.cloud_rpm} requests/min:"
    ]
    names = {
        "wall_s": "upload -> last DONE (s)",
        "done": "sessions DONE",
        "requests": "requests (429s included)",
        "rpm_span": "requests/min, first request -> last answer",
        "rpm_wall": "requests/min over the wall time",
        "max_in_flight": "most calls in flight",
        "rate_limited": "429s received",
        "paid_twice": "inputs paid twice",
        "max_rss_mb": "largest process RSS (MB)",
    }
    labels = list(results)
    out.append(f"  {'':<44}" + "".join(f"{label:>22}" for label in labels))
    for key, name in names.items():
        out.append(f"  {name:<44}" + "".join(f"{results[label][key]:>22.1f}" for label in labels))
    sys.stdout.write("\n".join(out) + "\n")
    return True


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    sys.exit(0 if run(parser.parse_args()) else 1)
