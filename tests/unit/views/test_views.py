"""The analysts' views in pandas: trend labels, per-100-words rates, weekly buckets, edge learners, I/O."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from pipeline.domain.models import SessionState
from pipeline.stages.services import Services
from pipeline.views.frames import (
    COHORT_COLUMNS,
    HEALTH_COLUMNS,
    PROGRESS_COLUMNS,
    cohort_patterns,
    health_totals,
    learner_progress,
    pipeline_health,
)
from pipeline.views.io import load_inputs, read_view, write_view
from tests.support.documents import T0, store_session

TENSE, ARTICLES, FILLER = "grammar.verb_tense", "grammar.articles", "vocabulary.filler_words"
DAY = timedelta(days=1)


def progress(services: Services) -> pd.DataFrame:
    inputs = load_inputs(services.results, services.status)
    return learner_progress(inputs.sessions, inputs.patterns).set_index(["learner_id", "pattern_id"])


def six_sessions(services: Services, order: list[int]) -> None:
    """ana: 6 sessions of 200 words (windows of 3); stored in ``order`` (arrival order)."""
    plan = [
        {TENSE: 10, ARTICLES: 4, "vocabulary.vague_words": 2},
        {TENSE: 8, ARTICLES: 4},
        {TENSE: 6, ARTICLES: 4},
        {TENSE: 4, ARTICLES: 4, FILLER: 1},
        {TENSE: 2, ARTICLES: 4},
        {TENSE: 2, ARTICLES: 4, FILLER: 3},
    ]
    for i in order:
        store_session(services, "ana", f"ana-{i}", T0 + i * DAY, plan[i], words=200)


def test_trend_labels_and_rates_per_100_words(services: Services) -> None:
    six_sessions(services, list(range(6)))
    rows = progress(services).loc["ana"]
    assert rows.loc[TENSE, "trend"] == "improving"
    # first window: 24 occurrences in 600 words; latest: 8 in 600.
    assert rows.loc[TENSE, "first_rate_per_100_words"] == pytest.approx(4.0)
    assert rows.loc[TENSE, "latest_rate_per_100_words"] == pytest.approx(8 / 6)
    assert rows.loc[ARTICLES, "trend"] == "persistent" and rows.loc[ARTICLES, "sessions_seen"] == 6
    assert rows.loc[FILLER, "trend"] == "new" and rows.loc[FILLER, "occurrences"] == 4
    assert rows.loc["vocabulary.vague_words", "trend"] == "resolved"
    assert rows.loc["vocabulary.vague_words", "latest_rate_per_100_words"] == 0
    assert rows.loc[TENSE, "first_seen"] == pd.Timestamp(T0) and rows.loc[TENSE, "last_seen"] == pd.Timestamp(
        T0 + 5 * DAY
    )
    assert set(rows["window_sessions"]) == {3} and set(rows["learner_sessions"]) == {6}


def test_out_of_order_arrival_gives_the_same_view(services: Services, tmp_path) -> None:
    six_sessions(services, [5, 0, 3, 1, 4, 2])
    shuffled = progress(services)
    from pipeline.status.store import StatusStore
    from pipeline.storage import LocalStorage

    other = Services(
        uploads=services.uploads,
        results=LocalStorage(tmp_path / "ordered"),
        status=StatusStore(f"sqlite:///{tmp_path}/ordered.db"),
        speech_to_text=services.speech_to_text,
        analyzer=services.analyzer,
    )
    six_sessions(other, list(range(6)))
    pd.testing.assert_frame_equal(shuffled, progress(other))
    assert shuffled.loc[("ana", "vocabulary.vague_words"), "trend"] == "resolved"


def test_single_session_learner_is_all_new_and_two_sessions_compare_one_to_one(services: Services) -> None:
    store_session(services, "ben", "ben-1", T0, {TENSE: 3, ARTICLES: 1}, words=50)
    rows = progress(services).loc["ben"]
    assert set(rows["trend"]) == {"new"} and set(rows["window_sessions"]) == {1}
    assert rows.loc[TENSE, "first_rate_per_100_words"] == pytest.approx(6.0)
    store_session(services, "ben", "ben-2", T0 + DAY, {TENSE: 3, FILLER: 2}, words=100)
    rows = progress(services).loc["ben"]
    assert rows.loc[TENSE, "trend"] == "improving"  # 6.0 -> 3.0 per 100 words
    assert rows.loc[ARTICLES, "trend"] == "resolved" and rows.loc[FILLER, "trend"] == "new"


def test_empty_inputs_keep_the_schema_and_round_trip_through_parquet(services: Services) -> None:
    inputs = load_inputs(services.results, services.status)
    views = {
        "learner_progress": (learner_progress(inputs.sessions, inputs.patterns), PROGRESS_COLUMNS),
        "cohort_patterns": (cohort_patterns(inputs.sessions, inputs.patterns), COHORT_COLUMNS),
        "pipeline_health": (pipeline_health(inputs.sessions), HEALTH_COLUMNS),
    }
    for name, (frame, columns) in views.items():
        assert frame.empty and list(frame.columns) == list(columns)
        write_view(services.results, name, frame)
        assert list(read_view(services.results, name).columns) == list(columns)


def test_weekly_buckets_share_and_health(services: Services) -> None:
    # Week 2026-W02 (Mon 5 Jan - Sun 11 Jan): ana twice, ben once; week W03: ben once; one failed session.
    store_session(services, "ana", "a1", T0, {TENSE: 2}, cost=0.02)
    store_session(
        services, "ana", "a2", T0 + 6 * DAY, {TENSE: 1, FILLER: 1}, done_after=timedelta(seconds=90)
    )
    store_session(services, "ben", "b1", T0 + 2 * DAY, {FILLER: 5}, done_after=timedelta(seconds=60))
    store_session(services, "ben", "b2", T0 + 7 * DAY, {TENSE: 1})
    store_session(services, "ben", "b3", T0 + 8 * DAY, {}, state=SessionState.FAILED)
    inputs = load_inputs(services.results, services.status)
    cohort = cohort_patterns(inputs.sessions, inputs.patterns).set_index(["week", "pattern_id"])
    assert (
        cohort.loc[("2026-W02", TENSE), "sessions"] == 2 and cohort.loc[("2026-W02", TENSE), "learners"] == 1
    )
    assert cohort.loc[("2026-W02", FILLER), "learners"] == 2
    assert cohort.loc[("2026-W02", FILLER), "share_of_sessions"] == pytest.approx(2 / 3)
    assert cohort.loc[("2026-W03", TENSE), "share_of_sessions"] == 1.0
    assert cohort.loc[("2026-W03", TENSE), "week_start"] == pd.Timestamp("2026-01-12", tz="UTC")
    health = pipeline_health(inputs.sessions).set_index("week")
    assert health.loc["2026-W02", ["sessions_done", "sessions_failed", "sessions_pending"]].tolist() == [
        3,
        0,
        0,
    ]
    assert health.loc["2026-W02", "median_upload_to_done_seconds"] == 60.0  # of 30, 60, 90
    assert health.loc["2026-W02", "cost_usd"] == pytest.approx(0.02)
    assert health.loc["2026-W03", ["sessions", "sessions_done", "sessions_failed"]].tolist() == [2, 1, 1]


def test_upload_to_done_runs_from_when_the_upload_was_complete(services: Services) -> None:
    store_session(services, "ana", "a1", T0, {TENSE: 1}, cost=0.5)  # registered without a completion time
    store_session(services, "ana", "a2", T0 + DAY, {TENSE: 1})
    store_session(services, "ana", "a3", T0 + 2 * DAY, {}, state=SessionState.UPLOADED, done_after=None)
    sensor_saw = services.status.get("a2")
    assert sensor_saw is not None and sensor_saw.uploaded_at is not None
    services.status.register(  # a new version of a2, complete 12 s before the sensor saw it
        "a2",
        "ana",
        media_key=None,
        uploaded_at=sensor_saw.uploaded_at,
        version="v2",
        completed_at=sensor_saw.uploaded_at - timedelta(seconds=12),
    )
    services.status.set_state("a2", SessionState.DONE)
    row = services.status.get("a2")
    assert row is not None and row.upload_completed_at is not None
    inputs = load_inputs(services.results, services.status)
    by_id = inputs.sessions.set_index("session_id")
    assert by_id.loc["a2", "upload_completed_at"] == pd.Timestamp(row.upload_completed_at)
    assert by_id.loc["a1", "upload_completed_at"] == by_id.loc["a1", "uploaded_at"]  # the fallback
    totals = health_totals(inputs.sessions)
    assert (totals["done"], totals["failed"], totals["pending"]) == (2, 0, 1)
    expected = sorted(
        [
            (row.updated_at - row.upload_completed_at).total_seconds(),
            (by_id.loc["a1", "updated_at"] - by_id.loc["a1", "uploaded_at"]).total_seconds(),
        ]
    )
    assert totals["median_upload_to_done_seconds"] == pytest.approx(sum(expected) / 2, abs=0.1)
    assert totals["cost_usd"] == pytest.approx(0.5)
    assert health_totals(inputs.sessions.head(0))["median_upload_to_done_seconds"] is None


def test_health_sums_the_known_costs_and_counts_the_unknown(services: Services) -> None:
    store_session(services, "ana", "a1", T0, {TENSE: 1}, cost=0.02)
    store_session(services, "ana", "a2", T0 + DAY, {TENSE: 1}, cost=None)  # analysis priced: unknown
    store_session(services, "ben", "b1", T0 + DAY, {FILLER: 1}, cost=None)
    inputs = load_inputs(services.results, services.status)
    unknown = dict(zip(inputs.sessions["session_id"], inputs.sessions["cost_unknown"], strict=True))
    assert unknown == {"a1": False, "a2": True, "b1": True}
    health = pipeline_health(inputs.sessions).set_index("week")
    assert health.loc["2026-W02", "cost_usd"] == pytest.approx(0.02)  # not 0 for all, not NaN
    assert health.loc["2026-W02", "sessions_cost_unknown"] == 2
    totals = health_totals(inputs.sessions)
    assert (totals["cost_usd"], totals["sessions_cost_unknown"]) == (pytest.approx(0.02), 2)


def test_views_read_from_and_write_to_s3(s3_bucket, tmp_path) -> None:
    from pipeline.status.store import StatusStore
    from pipeline.storage import open_storage

    s3 = Services(
        uploads=open_storage(s3_bucket.uri("uploads"), s3_client=s3_bucket.client),
        results=open_storage(s3_bucket.uri("results"), s3_client=s3_bucket.client),
        status=StatusStore(f"sqlite:///{tmp_path}/s3-status.db"),
        speech_to_text=None,
        analyzer=None,  # type: ignore[arg-type]
    )
    six_sessions(s3, list(range(6)))
    frame = progress(s3).reset_index()
    where = write_view(s3.results, "learner_progress", frame)
    assert where["parquet"] == f"{s3_bucket.uri('results')}/views/learner_progress.parquet"
    pd.testing.assert_frame_equal(read_view(s3.results, "learner_progress"), frame)
    csv = s3_bucket.client.get_object(Bucket=s3_bucket.name, Key="results/views/learner_progress.csv")[
        "Body"
    ].read()
    assert csv.decode().startswith("learner_id,pattern_id")
