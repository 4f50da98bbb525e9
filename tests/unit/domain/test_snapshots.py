"""Pure profile aggregation: counts, first/last seen, trends, ordering and idempotence."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.domain.models import Insight, SessionAnalysis, SessionInsights
from pipeline.domain.snapshots import build_profile, sessions_from


def insights(session_id: str, day: int, patterns: dict[str, int], learner: str = "ana") -> SessionInsights:
    items = [
        Insight(
            category=pid.split(".")[0] if pid != "other" else "structure",
            pattern_id=pid,
            pattern=pid,
            detail="d",
            frequency=freq,
            severity="medium",
            examples=[],
            suggestion="s",
        )
        for pid, freq in patterns.items()
    ]
    return SessionInsights(
        session_id=session_id,
        learner_id=learner,
        recorded_at=datetime(2026, 1, day, tzinfo=UTC),
        analysis=SessionAnalysis(insights=items, focus_next="f", summary="s"),
        provider="rules",
        model="m",
        prompt_version="p",
        input_sha256="0",
    )


HISTORY = [
    insights("s1", 1, {"grammar.verb_tense": 4, "vocabulary.filler_words": 2}),
    insights("s2", 5, {"grammar.verb_tense": 2}),
    insights("s3", 9, {"grammar.verb_tense": 3, "grammar.articles": 1}),
    insights("x1", 3, {"grammar.articles": 9}, learner="ben"),
]


def stat(profile, pattern_id):
    return next(p for p in profile.patterns if p.pattern_id == pattern_id)


def test_profile_counts_only_sessions_at_or_before_the_snapshot() -> None:
    profile = build_profile("ana", "s2", HISTORY)
    assert profile.session_ids == ["s1", "s2"] and profile.sessions_count == 2
    tense = stat(profile, "grammar.verb_tense")
    assert (tense.sessions, tense.total_frequency, tense.frequency_this_session) == (2, 6, 2)
    assert tense.first_seen_session == "s1" and tense.last_seen_session == "s2"
    assert {p.pattern_id for p in profile.patterns} == {"grammar.verb_tense", "vocabulary.filler_words"}


def test_trends_against_the_previous_session() -> None:
    profile = build_profile("ana", "s3", HISTORY)
    assert stat(profile, "grammar.verb_tense").trend == "worsening"  # 2 -> 3
    assert stat(profile, "grammar.articles").trend == "new"
    assert stat(profile, "vocabulary.filler_words").trend == "steady"  # absent in s2 and s3
    assert build_profile("ana", "s2", HISTORY).patterns[0].trend == "improving"  # tense 4 -> 2
    assert stat(build_profile("ana", "s2", HISTORY), "vocabulary.filler_words").trend == "improving"


def test_input_order_and_repetition_do_not_change_the_result() -> None:
    forward = build_profile("ana", "s3", HISTORY)
    backward = build_profile("ana", "s3", list(reversed(HISTORY)))
    assert forward.model_dump(exclude={"created_at"}) == backward.model_dump(exclude={"created_at"})


def test_unknown_session_is_an_error() -> None:
    with pytest.raises(KeyError):
        build_profile("ana", "nope", HISTORY)


def test_sessions_from_lists_the_snapshot_and_later_ones_in_recorded_order() -> None:
    ana = [h for h in HISTORY if h.learner_id == "ana"]
    assert sessions_from("s2", list(reversed(ana))) == ["s2", "s3"]
    assert sessions_from("missing", ana) == []


def test_profile_counts_patterns_found_beyond_the_top_insights() -> None:
    """A pattern found but not among the five insights still counts: next session it is not `new`."""
    from pipeline.domain.models import PatternCount

    first = insights("s1", 1, {"grammar.verb_tense": 4})
    first.analysis.pattern_counts = [
        PatternCount(pattern_id="grammar.verb_tense", count=4),
        PatternCount(pattern_id="vocabulary.filler_words", count=2),
    ]
    second = insights("s2", 2, {"vocabulary.filler_words": 3})
    profile = build_profile("ana", "s2", [first, second])
    stats = {p.pattern_id: p for p in profile.patterns}
    assert stats["vocabulary.filler_words"].sessions == 2
    assert stats["vocabulary.filler_words"].trend != "new"
    assert stats["grammar.verb_tense"].total_frequency == 4
