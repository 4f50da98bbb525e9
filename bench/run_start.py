"""Where a run's start goes, before (commit edbbf83, from git) vs now, side by side in one bench run.

1. Imports in a fresh interpreter, as a run worker pays them: ``import dagster``, then the code
   location (``wiring.definitions``), then building its definitions; and which heavy modules that
   pulled in.
2. Single-session runs through the real daemon, with each tree's own ``dagster.yaml`` (before:
   DefaultRunLauncher, a process spawned by the code server per run; now: the warm launcher, a
   process forked from a pre-imported zygote per run), split by the run's own events: launch ->
   worker process up (spawn or fork, ``import dagster``, instance) -> run start (code load) -> step
   start (resource init) -> success; median of the runs, and the first run after the daemon started.
3. The sensor path for a burst of sessions, one run each (bench/session_path.py), wall time per session.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import dagster as dg

from bench import session_path
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.daemon import ROOT, daemon_env, running_daemon, wait_for
from tests.support.sessions import add_session

logger = logging.getLogger(__name__)
BEFORE = "edbbf83"
HEAVY = ("av", "faster_whisper", "ctranslate2", "openai", "anthropic", "boto3", "botocore", "pandas",
         "matplotlib", "numpy", "pocketsphinx", "dagster_aws", "dagster_postgres")  # fmt: skip
_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import dagster
t1 = time.perf_counter()
import importlib, pathlib
# the composition root moved from pipeline/ to wiring/ in the re-layout: each tree loads its own
d = importlib.import_module("wiring.definitions" if pathlib.Path("wiring").is_dir() else "pipeline.definitions")
t2 = time.perf_counter()
d.defs() if callable(d.defs) else d.defs
t3 = time.perf_counter()
print(json.dumps({"dagster": t1 - t0, "project": t2 - t1, "load": t3 - t2, "file": d.__file__,
                  "heavy": sorted(m for m in HEAVY if m in sys.modules)}))
"""
_ORDER = ["RUN_STARTING", "process", "RUN_START", "STEP_START", "RUN_SUCCESS"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--start-runs", type=int, default=4, help="single-session runs timed one after another"
    )
    parser.add_argument(
        "--start-burst-sessions", type=int, default=40, help="sessions in the sensor-path burst"
    )


def checkout(commit: str, into: Path) -> Path:
    """The tree of ``commit`` (git archive): the code a run loaded before this change."""
    data = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(root), "STT_PROVIDER": "offline", "ANALYZER_PROVIDER": "offline"}


def imports(root: Path, repeat: int = 3) -> dict:
    runs = []
    for _ in range(repeat):
        code = f"HEAVY = {HEAVY!r}\n{_PROBE}"
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=root, env=_env(root), check=True, capture_output=True
        )
        runs.append(json.loads(out.stdout))
    assert all(Path(r["file"]).is_relative_to(root) for r in runs), "the probe loaded the wrong tree"
    return {k: statistics.median(r[k] for r in runs) for k in ("dagster", "project", "load")} | {
        "heavy": runs[0]["heavy"]
    }


def timeline(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    marks: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        name = event.event_type_value.replace("PIPELINE_", "RUN_")
        if name == "ENGINE_EVENT" and (event.message or "").startswith("Started process for run"):
            name = "process"
        marks.setdefault(name, entry.timestamp)
    return marks


def single_runs(root: Path, count: int) -> dict[str, float]:
    """``count`` sessions uploaded one at a time (each after the last is DONE): each its own cold run."""
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:  # runs may still flush
        base = Path(tmp)
        uploads, status_url = base / "uploads", f"sqlite:///{base}/status.db"
        env = daemon_env(base, SENSOR_INTERVAL_SECONDS="1", PYTHONPATH=str(root))
        uploads.mkdir()
        status = StatusStore(status_url)
        with running_daemon(base / "home", env, root=root) as daemon:
            for i in range(count):
                key = f"start{i}"
                add_session(uploads, f"learner{i}", key, text=f"{session_path.TEXT} Session {i}.")
                wait_for(lambda k=key: (s := status.get(k)) is not None and s.state is SessionState.DONE,
                         timeout=300, what=f"{key} DONE", daemon=daemon, log=base / "home" / "daemon.log")  # fmt: skip
            time.sleep(1)
            with dg.DagsterInstance.from_config(str(base / "home")) as instance:
                marks = [
                    timeline(instance, r.run_id)
                    for r in instance.get_runs(dg.RunsFilter(job_name="session_job"))
                ]
        status.dispose()
    parts = {}
    for start, end in zip(_ORDER, _ORDER[1:], strict=False):
        parts[f"{start}->{end}"] = statistics.median(m[end] - m[start] for m in marks)
    parts["launch->success"] = statistics.median(m["RUN_SUCCESS"] - m["RUN_STARTING"] for m in marks)
    first = min(marks, key=lambda m: m["RUN_STARTING"])  # after a daemon start: pays the zygote's start
    parts["first run: launch->success"] = first["RUN_SUCCESS"] - first["RUN_STARTING"]
    return parts


def _mean(samples: list[dict]) -> dict:
    """Per key, the mean over visits (nested dicts too); lists (module names) from the first visit."""
    first = samples[0]
    return {
        k: _mean([s[k] for s in samples]) if isinstance(v, dict)
        else statistics.fmean(s[k] for s in samples) if isinstance(v, int | float) else v
        for k, v in first.items()
    }  # fmt: skip


def run(args: argparse.Namespace) -> bool:
    """Before, after, after, before: the machine is shared, and its load drifts; ABBA cancels a steady drift."""
    with tempfile.TemporaryDirectory() as tmp:
        trees = {f"before ({BEFORE})": checkout(BEFORE, Path(tmp) / "before"), "after (this tree)": ROOT}
        labels = list(trees)
        samples: dict[str, list[dict]] = {label: [] for label in labels}
        for label in (labels[0], labels[1], labels[1], labels[0]):
            root = trees[label]
            sample = {
                "imports": imports(root),
                "runs": single_runs(root, args.start_runs),
                "burst": session_path.sensor_path(args.start_burst_sessions, root=root),
            }
            logger.info("run_start %s: %s", label, sample)
            samples[label].append(sample)
        results = {label: _mean(samples[label]) for label in labels}
    (before, b), (after, a) = results.items()
    out = [
        f"\nrun start, {before} vs {after}, measured in the order ABBA, means (s; ratio = after / before):"
    ]

    def row(name: str, x: float, y: float) -> None:
        out.append(f"  {name:<34} {x:8.3f} {y:8.3f}   x{y / x:.2f}")

    out.append(f"  {'fresh interpreter':<34} {'before':>8} {'after':>8}")
    for key, name in (
        ("dagster", "import dagster"),
        ("project", "import the definitions module"),
        ("load", "build definitions"),
    ):
        row(name, b["imports"][key], a["imports"][key])
    out.append(f"  heavy modules at import: before {b['imports']['heavy']}, after {a['imports']['heavy']}")
    out.append(f"  single-session runs via the daemon (median of {args.start_runs}):")
    for key in b["runs"]:
        row(key, b["runs"][key], a["runs"][key])
    out.append(f"  sensor path, {args.start_burst_sessions}-session burst (one run each):")
    row("wall per session", b["burst"]["per_session_wall_s"], a["burst"]["per_session_wall_s"])
    row("median run", b["burst"]["run_median_s"], a["burst"]["run_median_s"])
    sys.stdout.write("\n".join(out) + "\n")
    return True
