"""The session checks on plain stored documents: quality signals, grounding, profile consistency."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.checks.evaluations import insights_grounded, profile_consistent, transcript_quality
from pipeline.domain.models import SessionAnalysis, SessionInsights
from pipeline.domain.snapshots import build_profile
from tests.support.documents import insight

GOOD = {"word_count": 260, "duration_seconds": 120.0, "words_per_minute": 130.0}


def test_a_plausible_transcript_passes_with_or_without_quality_signals() -> None:
    assert transcript_quality(GOOD).passed
    signals = {
        "speech_ratio": 0.9,
        "mean_logprob": -0.3,
        "no_speech_prob": 0.05,
        "decoded_seconds": 119.0,
        "declared_seconds": 120.0,
        "truncated": False,
    }
    outcome = transcript_quality({**GOOD, "quality": signals})
    assert outcome.passed and outcome.metadata["quality_signals"] is True


def test_no_speech_and_truncation_are_errors() -> None:
    silent = transcript_quality({"word_count": 0, "duration_seconds": 60.0})
    assert not silent.passed and silent.severity == "ERROR" and "no speech" in silent.description
    cut = transcript_quality({**GOOD, "quality": {"declared_seconds": 1800.0, "decoded_seconds": 120.0}})
    assert not cut.passed and cut.severity == "ERROR" and "truncated" in cut.description
    flagged = transcript_quality({**GOOD, "quality": {"truncated": True}})
    assert not flagged.passed and "truncated" in flagged.description


def test_pace_and_confidence_are_warnings() -> None:
    fast = transcript_quality({"word_count": 1000, "duration_seconds": 60.0})
    assert not fast.passed and fast.severity == "WARN" and "1000 words per minute" in fast.description
    short = transcript_quality({"word_count": 40, "duration_seconds": 5.0})
    assert short.passed, "a pace over 5 seconds says nothing"
    unsure = transcript_quality({**GOOD, "quality": {"mean_logprob": -1.6, "no_speech_prob": 0.9}})
    assert not unsure.passed and unsure.severity == "WARN"
    assert "confidence" in unsure.description and "no-speech" in unsure.description
    segments = [
        {"start": 0, "end": 5, "text": "hm", "avg_logprob": -1.8, "no_speech_prob": 0.2},
        {"start": 5, "end": 9, "text": "hm", "avg_logprob": -1.4, "no_speech_prob": 0.3},
    ]
    from_segments = transcript_quality({**GOOD, "segments": segments})
    assert not from_segments.passed and from_segments.metadata["mean_logprob"] == -1.6
    text_upload = transcript_quality({"word_count": 30, "duration_seconds": None, "words_per_minute": None})
    assert text_upload.passed, "an uploaded transcript.txt has no duration to judge"


def test_grounding_flags_paraphrases_and_unknown_pattern_ids() -> None:
    text = "I go to school yesterday and she don't know."
    doc = {
        "analysis": {
            "insights": [
                {"pattern_id": "grammar.verb_tense", "examples": ["I go to school yesterday"]},
                {"pattern_id": "grammar.made_up", "examples": ["she doesn't know"]},
            ]
        }
    }
    outcome = insights_grounded(doc, text)
    assert not outcome.passed and outcome.severity == "ERROR"
    assert outcome.metadata["ungrounded_examples"] == [
        {"pattern_id": "grammar.made_up", "example": "she doesn't know"}
    ]
    assert outcome.metadata["unknown_pattern_ids"] == ["grammar.made_up"]
    assert insights_grounded({"analysis": {"insights": doc["analysis"]["insights"][:1]}}, text).passed


def analysis(session: str, day: int, counts: dict[str, int]) -> SessionInsights:
    return SessionInsights(
        session_id=session,
        learner_id="ana",
        recorded_at=datetime(2026, 1, day, tzinfo=UTC),
        analysis=SessionAnalysis(
            insights=[insight(p, f) for p, f in counts.items()], focus_next="f", summary="s"
        ),
        provider="rules",
        model="rules",
        prompt_version="v",
        input_sha256="0" * 64,
    )


def test_profile_consistency_names_the_differing_pattern() -> None:
    docs = [
        analysis("s1", 3, {"grammar.articles": 2}),
        analysis("s2", 10, {"grammar.articles": 1, "grammar.plurals": 4}),
    ]
    stored = build_profile("ana", "s2", docs)
    assert profile_consistent(stored, docs).passed
    tampered = stored.model_copy(deep=True)
    tampered.patterns[0].total_frequency += 1
    outcome = profile_consistent(tampered, docs)
    assert not outcome.passed and outcome.metadata["differing_patterns"] == [tampered.patterns[0].pattern_id]
    late = analysis("s0", 1, {"grammar.plurals": 1})  # an earlier session analysed after the snapshot
    assert not profile_consistent(stored, [*docs, late]).passed
    assert "cannot recompute" in profile_consistent(stored, docs[:1]).description
