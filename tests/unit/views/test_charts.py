"""The charts draw at a readable size, per 100 words, and never claim a share from a tiny week."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pandas as pd

from pipeline.views.charts import (
    MIN_WEEK_SESSIONS,
    cohort_chart,
    learner_rates_chart,
    profile_counts_chart,
    session_labels,
    week_label,
)


def width(png: bytes | None) -> int:
    assert png is not None and png.startswith(b"\x89PNG")
    return int(struct.unpack(">I", png[16:20])[0])


def rates(learners: int) -> pd.DataFrame:
    rows = []
    for n in range(learners):
        for order in range(3):
            for pid, freq in (("grammar.verb_tense", 3 + order), ("vocabulary.filler_words", 1)):
                rows.append(
                    {
                        "learner_id": f"l{n}",
                        "session_id": f"l{n}-{order}",
                        "recorded_at": pd.Timestamp(datetime(2026, 1, 1 + order, tzinfo=UTC)),
                        "order": order,
                        "pattern_id": pid,
                        "frequency": freq,
                        "rate_per_100_words": freq * 100 / (50 + 10 * order),
                    }
                )
    return pd.DataFrame(rows)


def test_learner_chart_is_about_a_thousand_pixels_wide_with_every_learner_accounted_for() -> None:
    png = learner_rates_chart(rates(6))  # 4 drawn, 2 named in the title
    assert 900 <= width(png) <= 1300


def test_profile_chart_plots_rates_per_100_words() -> None:
    frame = rates(1)[["recorded_at", "pattern_id", "frequency", "rate_per_100_words"]]
    assert 900 <= width(profile_counts_chart("l0", frame)) <= 1300


def test_cohort_chart_leaves_a_week_with_too_few_sessions_empty() -> None:
    cohort = pd.DataFrame(
        {
            "week": ["2026-W01", "2026-W02"],
            "pattern_id": ["grammar.verb_tense"] * 2,
            "sessions": [1, 4],
            "week_sessions": [1, 8],
            "share_of_sessions": [1.0, 0.5],
        }
    )
    assert 900 <= width(cohort_chart(cohort)) <= 1300


def test_cohort_chart_draws_when_every_week_is_too_small() -> None:
    tiny = pd.DataFrame(
        {
            "week": ["2026-W01"],
            "pattern_id": ["grammar.articles"],
            "sessions": [1],
            "week_sessions": [1],
            "share_of_sessions": [1.0],
        }
    )
    assert width(cohort_chart(tiny)) > 0


def test_every_session_has_its_own_tick_label_and_same_day_sessions_their_time() -> None:
    stamps = [
        pd.Timestamp("2026-01-03 09:00", tz="UTC"),
        pd.Timestamp("2026-01-04 10:30", tz="UTC"),
        pd.Timestamp("2026-01-04 18:05", tz="UTC"),
    ]
    assert session_labels(stamps) == ["01-03", "01-04 10:30", "01-04 18:05"]


def test_a_week_tick_counts_its_sessions_and_says_when_they_are_too_few() -> None:
    assert week_label("2026-W01", 1) == "2026-W01\n1 session (too few)"
    assert week_label("2026-W02", MIN_WEEK_SESSIONS) == f"2026-W02\n{MIN_WEEK_SESSIONS} sessions"
