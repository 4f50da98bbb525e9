"""Refreshing the analysts' views: time for N stored sessions, and how it scales (N/10 vs N side by side).

Sessions are generated as stored documents (transcript + insights, registered DONE in a SQLite
status store) for learners of 10 sessions each over 12 weeks; then both view assets are
materialized in process by Dagster, exactly as the automation sensor's run does (read every
document once, compute with pandas, write Parquet + CSV, draw the charts). The core steps are also
timed on their own, to show where a refresh spends its time.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from assets.partitions import RANGE_END, RANGE_START
from pipeline.domain.documents import insights_key, transcript_key
from pipeline.domain.models import Insight, SessionAnalysis, SessionInsights, SessionState, Transcript
from pipeline.domain.taxonomy import PATTERN_IDS, category_of
from pipeline.status.store import StatusStore
from pipeline.storage import LocalStorage

START = datetime(2026, 1, 5, 9, tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--views-sessions", type=int, default=1000, help="stored sessions the views are built from"
    )
    parser.add_argument(
        "--checks-sessions", type=int, default=50, help="sessions of the batch run with/without checks"
    )


def checks_overhead(root: Path, sessions: int) -> dict[str, float]:
    """One batch run of ``sessions`` text sessions (5 learners) with the session checks, one without."""
    from tests.support.materialize import materialize_sessions, offline_assets, offline_resource
    from tests.support.sessions import add_session

    seconds = {}
    for label, selection in (
        ("without", dg.AssetSelection.all().without_checks()),
        ("with", dg.AssetSelection.all()),
    ):
        uploads = root / label / "uploads"
        keys = [f"{label}-{n:03d}" for n in range(sessions)]
        for n, key in enumerate(keys):
            stamp = (START + timedelta(days=n)).isoformat()
            add_session(
                uploads,
                f"learner-{n % 5}",
                key,
                text="I go to the market yesterday and buy a apple. " * 8,
                manifest=f'{{"recorded_at": "{stamp}"}}',
            )
        resource = offline_resource(root / label, uploads)
        with dg.instance_for_test() as instance:
            materialize_sessions(instance, resource, keys[:1])  # warm-up: imports, database creation
            instance.add_dynamic_partitions("sessions", keys)
            tags = {
                RANGE_START: keys[1],
                RANGE_END: keys[-1],
            }
            started = time.perf_counter()
            result = dg.materialize(
                offline_assets(),
                instance=instance,
                resources={"pipeline": resource},
                tags=tags,
                selection=selection,
            )
            seconds[label] = time.perf_counter() - started
            assert result.success
    return seconds


def generate(root: Path, sessions: int) -> tuple[LocalStorage, StatusStore]:
    results, status = LocalStorage(root / "results"), StatusStore(f"sqlite:///{root}/status.db")
    rng = random.Random(7)
    patterns = [p for p in PATTERN_IDS if p != "other"]
    for n in range(sessions):
        learner, session = f"learner-{n // 10:04d}", f"s-{n:05d}"
        recorded = START + timedelta(days=rng.randrange(84), hours=rng.randrange(12))
        words = rng.randrange(80, 400)
        status.register(session, learner, media_key=None, uploaded_at=recorded + timedelta(minutes=1))
        results.write_model(
            transcript_key(session),
            Transcript(
                session_id=session,
                learner_id=learner,
                text="word " * words,
                source="text",
                recorded_at=recorded,
                word_count=words,
                provider="upload",
                model="transcript.txt",
                input_sha256="0" * 64,
            ),
        )
        insights = [
            Insight(
                category=category_of(p),
                pattern_id=p,
                pattern=p,
                detail="d",
                frequency=rng.randrange(1, 9),  # type: ignore[arg-type]
                severity="medium",
                examples=[],
                suggestion="s",
            )
            for p in rng.sample(patterns, rng.randrange(1, 6))
        ]
        results.write_model(
            insights_key(session),
            SessionInsights(
                session_id=session,
                learner_id=learner,
                recorded_at=recorded,
                provider="rules",
                model="rules",
                prompt_version="v",
                input_sha256="0" * 64,
                analysis=SessionAnalysis(insights=insights, focus_next="f", summary="s"),
            ),
        )
        status.set_state(session, SessionState.DONE, recorded_at=recorded)
    return results, status


def refresh(root: Path, sessions: int) -> dict[str, float]:
    from assets.views import view_assets
    from pipeline.views import charts
    from pipeline.views import frames as views
    from pipeline.views import io as view_data
    from wiring.resources import PipelineResource

    results, status = generate(root, sessions)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    inputs = view_data.load_inputs(results, status)
    timings["read"] = time.perf_counter() - started
    started = time.perf_counter()
    progress = views.learner_progress(inputs.sessions, inputs.patterns)
    cohort = views.cohort_patterns(inputs.sessions, inputs.patterns)
    views.pipeline_health(inputs.sessions)
    timings["pandas"] = time.perf_counter() - started
    started = time.perf_counter()
    view_data.write_view(results, "learner_progress", progress)
    view_data.write_view(results, "cohort_patterns", cohort)
    timings["write"] = time.perf_counter() - started
    started = time.perf_counter()
    charts.learner_rates_chart(views.session_rates(inputs.sessions, inputs.patterns))
    charts.cohort_chart(cohort)
    timings["charts"] = time.perf_counter() - started
    resource = PipelineResource(
        results_uri=str(root / "results"),
        status_db_url=f"sqlite:///{root}/status.db",
        uploads_uri=str(root / "uploads"),
    )
    with dg.instance_for_test() as instance:
        started = time.perf_counter()
        result = dg.materialize(view_assets, instance=instance, resources={"pipeline": resource})
        timings["dagster_refresh"] = time.perf_counter() - started
        assert result.success
        for key in ("learner_progress", "cohort_patterns"):
            event = instance.get_latest_materialization_event(dg.AssetKey(key))
            timings[f"{key}_asset"] = event.asset_materialization.metadata["refresh_seconds"].value  # type: ignore[union-attr]
    timings["rows"] = float(len(progress))
    return timings


def run(args: argparse.Namespace) -> bool:
    n = args.views_sessions
    small, large = max(n // 10, 10), n
    measured = {}
    for count in (small, large):
        with tempfile.TemporaryDirectory() as tmp:
            measured[count] = refresh(Path(tmp), count)
    a, b = measured[small], measured[large]
    logging.getLogger("alembic").setLevel(logging.WARNING)
    sys.stdout.write(
        f"\nviews refresh (learner_progress + cohort_patterns), {small} vs {large} stored sessions:\n"
    )
    for step in (
        "read",
        "pandas",
        "write",
        "charts",
        "learner_progress_asset",
        "cohort_patterns_asset",
        "dagster_refresh",
    ):
        sys.stdout.write(
            f"  {step:<23} {a[step]:7.2f} s  vs {b[step]:7.2f} s   ({b[step] / a[step]:.1f}x for {large // small}x sessions)\n"
        )
    sys.stdout.write(
        f"  both views refreshed for {large} sessions in {b['dagster_refresh']:.2f} s through Dagster "
        f"({b['rows']:.0f} learner x pattern rows)\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        checks = checks_overhead(Path(tmp), args.checks_sessions + 1)
    per = (checks["with"] - checks["without"]) / args.checks_sessions
    sys.stdout.write(
        f"session checks, one batch run of {args.checks_sessions} text sessions: without {checks['without']:.2f} s vs "
        f"with {checks['with']:.2f} s ({checks['with'] / checks['without']:.2f}x; {per * 1000:.0f} ms per session)\n"
    )
    return True
