"""A lone upload during a backfill of ``reanalysis_job``: main from git vs this tree, each through a real daemon.

Per tree, against the fake Anthropic API (official SDK, ``--backfill-latency`` s per call, 600
requests per rolling minute, ``429`` + ``retry-after`` beyond):

1. ``--backfill-sessions`` text sessions (60; ``--backfill-sessions 1000`` for the issue's figure)
   land at once and go through the sensor's runs with model A; the first 50 are one learner's, so
   one run of that learner keeps 50 calls in flight (``RUN_CONCURRENCY=50``): the largest resident
   memory of one process of the daemon's tree (a run worker) is sampled meanwhile.
2. The daemon restarts with model B (a model change: nothing is reused from the memo), and the
   re-analysis backfill of ``insights`` + ``pattern_profile`` is launched over every session, as
   docs/operations.md says: ``--backfill-launch asset`` (default) as the UI launches it, an asset
   backfill through GraphQL (``launchPartitionBackfill``, with ``dagster-graphql``), so the assets'
   ``BackfillPolicy.multi_run(25)`` applies; ``--backfill-launch cli`` as
   ``dagster job backfill -j reanalysis_job`` (one run per session). Once the backfill's runs are
   going, ``--backfill-lone-uploads`` (3) text sessions of new learners are uploaded one after another (each
   when the last is DONE, so they land at different points of the sensor's interval) and timed
   upload → DONE (their status rows), each run's start split by its events into the run queue, the
   launch, the worker's code load and the step; the median and the slowest are printed, and how
   many were DONE while the backfill still ran.

Goal: every lone upload DONE within the sensor interval + 5 s while the backfill runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import dagster as dg

from bench.cloud_throughput import _rss_watch
from bench.run_start import checkout
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.daemon import daemon_env, running_daemon, wait_for
from tests.support.fake_api import FakeAPI
from tests.support.sessions import add_session

logger = logging.getLogger(__name__)
BEFORE = "052d7e3"  # main before the lone upload's run got a slot no backfill or views run can take
TEXT = "Yesterday I go to the market and I buy a apple. Um, it was very very good, you know."
BOOT = 8.0  # the daemon, its code server and the warm launcher up


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backfill-sessions", type=int, default=60, help="sessions the backfill re-analyses")
    parser.add_argument(
        "--backfill-latency", type=float, default=2.0, help="seconds each analysis call takes"
    )
    parser.add_argument("--backfill-skip-before", action="store_true", help="measure this tree only")
    parser.add_argument(
        "--backfill-lone-uploads", type=int, default=3, help="lone uploads timed during the backfill"
    )
    parser.add_argument(
        "--backfill-launch", choices=("asset", "cli"), default="asset",
        help="asset: an asset backfill through GraphQL, as the UI launches it (BackfillPolicy.multi_run(25) "
        "applies); cli: `dagster job backfill -j reanalysis_job` (one run per session)",
    )  # fmt: skip


# What the UI's *Materialize* -> *Backfill* dialog sends for insights + pattern_profile.
LAUNCH_BACKFILL = """mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""


def launch_backfill(root: Path, env: dict[str, str], keys: list[str], how: str) -> None:
    """Launch the re-analysis backfill over ``keys`` the way an engineer would (docs/operations.md)."""
    bin_dir = Path(sys.executable).parent
    if how == "cli":
        command = [str(bin_dir / "dagster"), "job", "backfill", "-w", "workspace.yaml", "-j", "reanalysis_job",
                   "--noprompt", "--partitions", ",".join(keys)]  # fmt: skip
    else:
        params = {
            "partitionNames": keys,
            "assetSelection": [{"path": ["insights"]}, {"path": ["pattern_profile"]}],
            "fromFailure": False,
        }
        command = [str(bin_dir / "dagster-graphql"), "-w", "workspace.yaml", "-t", LAUNCH_BACKFILL,
                   "-v", json.dumps({"params": params})]  # fmt: skip
    launched = subprocess.run(command, cwd=root, env={**os.environ, **env}, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
    assert launched.returncode == 0 and "PythonError" not in launched.stdout, (
        launched.stdout + launched.stderr
    )


PHASES = ("lone_dequeued_s", "lone_launched_s", "lone_step_start_s", "lone_step_s")


def run_phases(instance: dg.DagsterInstance, record: dg.RunRecord) -> dict[str, float]:
    """Where a run's start went, from its events: the queue (created -> the daemon dequeued it), the
    launch (-> its worker reported RUN_START), the worker's code load (-> its step began), the step."""
    first: dict[dg.DagsterEventType, float] = {}
    for entry in instance.all_logs(record.dagster_run.run_id):
        if entry.dagster_event is not None:
            first.setdefault(entry.dagster_event.event_type, entry.timestamp)
    created = record.create_timestamp.timestamp()
    starting = first.get(dg.DagsterEventType.RUN_STARTING, float("nan"))
    start = first.get(dg.DagsterEventType.RUN_START, float("nan"))
    step = first.get(dg.DagsterEventType.STEP_START, float("nan"))
    step_end = first.get(
        dg.DagsterEventType.STEP_SUCCESS, first.get(dg.DagsterEventType.STEP_FAILURE, float("nan"))
    )
    return {"lone_dequeued_s": starting - created, "lone_launched_s": start - starting,
            "lone_step_start_s": step - start, "lone_step_s": step_end - step}  # fmt: skip


def lone_upload(
    instance: dg.DagsterInstance, status: StatusStore, uploads: Path, key: str, daemon: Any, home: Path
) -> dict[str, float]:
    """One text session of a new learner uploaded and timed to DONE, its run's start split up."""
    dropped = time.time()
    add_session(uploads, f"lonely-{key}", key, text=f"{TEXT} Alone {key}.")
    wait_for(lambda: _done(status, [key]), timeout=600, what="the lone upload DONE", daemon=daemon,
             log=home / "daemon.log")  # fmt: skip
    done = status.get(key).updated_at.timestamp() - dropped
    runs = dg.RunsFilter(tags={"dagster/partition": key})
    wait_for(lambda: all(r.is_finished for r in instance.get_runs(runs)), timeout=120,
             what="the lone upload's run ended")  # fmt: skip
    [rec] = instance.get_run_records(runs)
    assert rec.start_time and rec.end_time, f"{key}'s run never started"
    return {
        "lone_s": done,
        "lone_created_s": rec.create_timestamp.timestamp() - dropped,
        "lone_queued_s": rec.start_time - rec.create_timestamp.timestamp(),
        "lone_run_s": rec.end_time - rec.start_time,
        **run_phases(instance, rec),
        "lone_budget_wait_s": float(rec.dagster_run.tags.get("provider/budget_wait_seconds", "nan")),
        "backfill_going": any(not r.is_finished for r in instance.get_runs() if "dagster/backfill" in r.tags),
    }


def sensor_tick_gaps(instance: dg.DagsterInstance, since: float) -> list[float]:
    """Seconds between the uploads sensor's ticks since ``since``: its real interval."""
    from dagster._core.scheduler.instigation import InstigatorType

    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.name == "uploads_sensor":
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, after=since, limit=1000)
            stamps = sorted(t.timestamp for t in ticks)
            return [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    return []


def calls_by_session(calls: list[dict], keys: list[str]) -> dict[str, int]:
    """How many provider requests carried each session's transcript (its text names the session)."""
    counts = dict.fromkeys(keys, 0)
    for call in calls:
        sent = json.dumps(call.get("request"))
        for key in keys:
            if f"Session {key}." in sent:
                counts[key] += 1
    return counts


def _done(status: StatusStore, keys: list[str]) -> bool:
    rows = status.get_many(keys)
    return len(rows) == len(keys) and all(
        r.state in (SessionState.DONE, SessionState.FAILED) for r in rows.values()
    )


def measure(root: Path, args: argparse.Namespace) -> dict[str, float]:
    count = args.backfill_sessions
    with (
        tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp,
        FakeAPI(latency=args.backfill_latency, rpm=600) as fake,
    ):
        base = Path(tmp)
        uploads, home = base / "uploads", base / "home"
        uploads.mkdir()
        env = daemon_env(
            base, PYTHONPATH=str(root), ANALYZER_PROVIDER="anthropic", ANTHROPIC_API_KEY="sk-bench",
            ANTHROPIC_BASE_URL=fake.anthropic_base_url, ANTHROPIC_CONFIG_DIR=str(base / "anthropic"),
            PROVIDER_LIMITS_JSON=json.dumps({"anthropic": {"concurrency": 100, "rpm": 600,
                                                           "input_tpm": 10**8, "output_tpm": 10**8}}),
            RUN_CONCURRENCY="50", UPLOAD_QUIET_SECONDS="1", ANALYZER_MODEL="claude-a",
        )  # fmt: skip
        env.pop("SENSOR_INTERVAL_SECONDS")  # each tree's own default
        status = StatusStore(f"sqlite:///{base}/status.db")
        keys = [f"b{i:04d}" for i in range(count)]
        staging = base / "staging"
        for i, key in enumerate(keys):
            learner = "learner-big" if i < 50 else f"learner{i % 10:02d}"
            add_session(staging, learner, key, text=f"{TEXT} Session {key}.")
        rss: list[int] = []
        stop = threading.Event()
        with running_daemon(home, env, root=root) as daemon:
            watcher = threading.Thread(target=_rss_watch, args=(daemon.pid, stop, rss), daemon=True)
            watcher.start()
            time.sleep(BOOT)
            for learner in sorted(staging.iterdir()):
                learner.rename(uploads / learner.name)
            wait_for(lambda: _done(status, keys), timeout=3600, what="the sessions DONE", daemon=daemon,
                     log=home / "daemon.log")  # fmt: skip
            stop.set()
            watcher.join()
            with dg.DagsterInstance.from_config(str(home)) as instance:  # a restart would interrupt a run
                wait_for(lambda: all(r.is_finished for r in instance.get_runs()), timeout=600,
                         what="the burst's runs ended", daemon=daemon, log=home / "daemon.log")  # fmt: skip
        burst_in_flight = fake.max_in_flight
        env["ANALYZER_MODEL"] = "claude-b"  # a model change: the backfill pays every call again
        with running_daemon(home, env, root=root) as daemon:
            time.sleep(BOOT)
            # Counted from before the launch: the daemon starts the backfill's first runs while the
            # launching command is still exiting (its code server's shutdown), so counting from its
            # return missed their requests (48 and 52 of 60 sessions "reached the provider").
            backfill_start = time.time()
            calls_before = len(fake.calls)
            launch_backfill(root, {**env, "DAGSTER_HOME": str(home)}, keys, args.backfill_launch)
            with dg.DagsterInstance.from_config(str(home)) as instance:

                def backfill_going() -> bool:
                    runs = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
                    return any("dagster/backfill" in r.tags for r in runs) and len(fake.calls) > calls_before

                wait_for(backfill_going, timeout=600, what="the backfill's runs calling", daemon=daemon,
                         log=home / "daemon.log")  # fmt: skip
                lones = []
                for n in range(args.backfill_lone_uploads):  # one after another, each a new learner's
                    time.sleep(1.0 + 1.7 * n)  # so each lands at another point of the sensor's interval
                    lones.append(lone_upload(instance, status, uploads, f"lone{n}", daemon, home))
                going = sum(1 for one in lones if one.pop("backfill_going"))
                lone = {key: statistics.median(one[key] for one in lones) for key in lones[0]}
                lone["lone_max_s"] = max(one["lone_s"] for one in lones)
                logger.info("lone uploads: %s", [round(one["lone_s"], 1) for one in lones])

                def backfill_done() -> bool:
                    runs = [r for r in instance.get_runs() if "dagster/backfill" in r.tags]
                    backfills = instance.get_backfills()
                    return (
                        bool(backfills)
                        and backfills[0].status.value != "REQUESTED"
                        and all(r.is_finished for r in runs)
                    )

                wait_for(backfill_done, timeout=3600, what="the backfill done", daemon=daemon,
                         log=home / "daemon.log")  # fmt: skip
                ends = [
                    r.end_time for r in instance.get_run_records() if "dagster/backfill" in r.dagster_run.tags
                ]
                backfill_wall = max(e for e in ends if e) - backfill_start  # its runs, not the wait for them
                gaps = sensor_tick_gaps(instance, backfill_start) or [float("nan")]
                backfill_calls = len(fake.calls) - calls_before - len(lones)  # the lone uploads' calls
                backfill_runs = [r for r in instance.get_runs() if "dagster/backfill" in r.tags]
                in_backfill = len(backfill_runs)
                called = calls_by_session(fake.calls[calls_before:], keys)
                missed = sorted(k for k, n in called.items() if n == 0)
                if missed:  # which sessions, in which state, from which run: why they did not call
                    rows = status.get_many(missed)
                    logger.warning(
                        "backfill sessions that made no provider request: %s; states %s; backfill runs %s",
                        missed, {k: (r.state.value, r.run_id, r.error) for k, r in rows.items()},
                        sorted({(r.status.value, r.tags.get("dagster/partition") or r.tags.get(
                            "dagster/asset_partition_range_start")) for r in backfill_runs}),
                    )  # fmt: skip
        status.dispose()
        interval = float(
            subprocess.run([sys.executable, "-c", "from pipeline.config.settings import Settings; "
                            "print(Settings.sensor_interval_seconds)"], cwd=root, env={**os.environ,
                           "PYTHONPATH": str(root)}, capture_output=True, text=True, check=True).stdout
        )  # fmt: skip
    return {
        **lone,
        "lone_during_backfill": going,
        "goal_s": interval + 5.0,
        "tick_gap_median_s": statistics.median(gaps),
        "tick_gap_max_s": max(gaps),
        "backfill_s": backfill_wall,
        "backfill_runs": in_backfill,
        "backfill_calls": backfill_calls,
        "backfill_sessions_calling": count - len(missed),
        "burst_in_flight": burst_in_flight,
        "max_rss_mb": max(rss, default=0) / 1024,
    }


NAMES = {
    "lone_s": "lone upload -> DONE, median (s)",
    "lone_max_s": "lone upload -> DONE, slowest (s)",
    "lone_during_backfill": "lone uploads DONE while the backfill ran",
    "lone_created_s": "  upload -> its run created (s)",
    "lone_queued_s": "  run created -> started (s)",
    "lone_dequeued_s": "    created -> dequeued (run queue) (s)",
    "lone_launched_s": "    dequeued -> worker running (launch) (s)",
    "lone_run_s": "  run started -> ended (s)",
    "lone_step_start_s": "    started -> its step started (code load) (s)",
    "lone_step_s": "    step started -> ended (s)",
    "lone_budget_wait_s": "  of which waiting for the provider budget (s)",
    "goal_s": "goal: sensor interval + 5 s",
    "tick_gap_median_s": "uploads_sensor ticks apart, median (s)",
    "tick_gap_max_s": "uploads_sensor ticks apart, longest (s)",
    "backfill_s": "backfill launched -> its last run ended (s)",
    "backfill_runs": "backfill runs",
    "backfill_calls": "backfill's provider requests",
    "backfill_sessions_calling": "backfill sessions that made a request",
    "burst_in_flight": "most calls in flight, first burst",
    "max_rss_mb": "largest process RSS, first burst (MB)",
}


def run(args: argparse.Namespace) -> bool:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"after (this tree)": Path(__file__).resolve().parents[1]}
        if not args.backfill_skip_before:
            trees = {f"before ({BEFORE})": checkout(BEFORE, Path(tmp) / "before"), **trees}
        for label, root in trees.items():
            results[label] = measure(root, args)
            logger.info("backfill_priority %s: %s", label, results[label])
    out = [
        f"\nbackfill priority: reanalysis_job over {args.backfill_sessions} sessions ({args.backfill_latency:.0f} s "
        "per call, 600 requests/min), and lone uploads meanwhile:",
        f"  {'':<46}" + "".join(f"{label:>22}" for label in results),
    ]
    for key, name in NAMES.items():
        out.append(f"  {name:<46}" + "".join(f"{r[key]:>22.1f}" for r in results.values()))
    sys.stdout.write("\n".join(out) + "\n")
    after = results["after (this tree)"]
    return after["lone_max_s"] <= after["goal_s"] and after["max_rss_mb"] < 1024


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    sys.exit(0 if run(parser.parse_args()) else 1)
