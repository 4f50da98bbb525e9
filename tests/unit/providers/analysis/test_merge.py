"""Merging the analyses of a long transcript's parts into one SessionAnalysis (pure, no provider)."""

from __future__ import annotations

from typing import Any

from pipeline.domain.models import Insight, SessionAnalysis, UsageCost
from pipeline.providers.analysis.base import AnalysisResult
from pipeline.providers.analysis.merge import merge_analyses, merge_results


def insight(pattern_id: str, frequency: int, severity: str, examples: list[str], **fields: Any) -> Insight:
    return Insight(
        category=pattern_id.split(".")[0] if "." in pattern_id else "structure",
        pattern_id=pattern_id,
        pattern=fields.get("pattern", pattern_id),
        detail=fields.get("detail", f"detail of {pattern_id}"),
        frequency=frequency,
        severity=severity,
        examples=examples,
        suggestion=fields.get("suggestion", f"practise {pattern_id}"),
    )


def analysis(*insights: Insight, focus: str = "part focus") -> SessionAnalysis:
    return SessionAnalysis(insights=list(insights), focus_next=focus, summary="part summary")


PART_1 = analysis(
    insight("vocabulary.filler_words", 9, "low", ["um one", "you know one"], pattern="Fillers (part 1)"),
    insight("grammar.verb_tense", 2, "medium", ["I go yesterday", "she buy"]),
    insight("grammar.articles", 1, "low", ["a apple"]),
    focus="Cut the fillers.",
)
PART_2 = analysis(
    insight("grammar.verb_tense", 4, "high", ["he come", "I go yesterday", "we eat"], detail="the heaviest"),
    insight("vocabulary.filler_words", 1, "medium", ["um two"]),
    insight("structure.run_on_sentences", 2, "medium", ["and then and then"]),
    focus="Past simple for finished events.",
)
PART_3 = analysis(
    insight("grammar.verb_tense", 1, "low", ["they was go", "I see him last week"]),
    insight("grammar.prepositions", 1, "low", ["on the morning"]),
    insight("vocabulary.vague_words", 1, "low", ["stuff"]),
)


def test_same_pattern_merged_frequencies_summed_severity_max_examples_verbatim() -> None:
    merged = merge_analyses([PART_1, PART_2, PART_3], model="m")
    by_id = {i.pattern_id: i for i in merged.insights}
    tense = by_id["grammar.verb_tense"]
    assert (tense.frequency, tense.severity, tense.detail) == (7, "high", "the heaviest")
    # Taken in turn from each part, each quote once, at most 5.
    assert tense.examples == ["I go yesterday", "he come", "they was go", "she buy", "I see him last week"]
    fillers = by_id["vocabulary.filler_words"]
    assert (fillers.frequency, fillers.severity, fillers.pattern) == (10, "medium", "Fillers (part 1)")
    assert fillers.examples == ["um one", "um two", "you know one"]


def test_top_five_by_frequency_times_severity_weight() -> None:
    merged = merge_analyses([PART_1, PART_2, PART_3], model="m")
    ranked = [i.pattern_id for i in merged.insights]
    # verb tense 7 x high(3) = 21, fillers 10 x medium(2) = 20, run-ons 2 x 2 = 4, then 1 x low(1) in taxonomy order
    assert ranked == [
        "grammar.verb_tense",
        "vocabulary.filler_words",
        "structure.run_on_sentences",
        "grammar.articles",
        "grammar.prepositions",
    ]
    assert "vocabulary.vague_words" not in ranked  # the sixth is dropped


def test_focus_follows_the_top_pattern_and_the_summary_names_the_parts() -> None:
    merged = merge_analyses([PART_1, PART_2, PART_3], model="claude-haiku-4-5")
    assert merged.focus_next == "Past simple for finished events."  # the part led by verb tense
    assert "3 parts" in merged.summary and "claude-haiku-4-5" in merged.summary
    # No part leads with the pattern that tops the merge: its own advice becomes the focus.
    part_a = analysis(insight("grammar.articles", 2, "low", []), insight("grammar.plurals", 3, "high", []))
    part_b = analysis(
        insight("vocabulary.vague_words", 2, "low", []), insight("grammar.plurals", 2, "medium", [])
    )
    merged = merge_analyses([part_a, part_b], model="m")
    assert (
        merged.insights[0].pattern_id == "grammar.plurals" and merged.focus_next == "practise grammar.plurals"
    )


def test_usage_and_dropped_examples_are_summed() -> None:
    results = [
        AnalysisResult(PART_1, UsageCost(input_tokens=100, output_tokens=10, cost_usd=0.25, calls=1), 1),
        AnalysisResult(PART_2, UsageCost(input_tokens=200, output_tokens=20, cost_usd=0.5, calls=2), 0),
    ]
    merged = merge_results(results, model="m")
    usage = merged.usage
    assert (usage.input_tokens, usage.output_tokens, usage.cost_usd, usage.calls) == (300, 30, 0.75, 3)
    assert merged.dropped_examples == 1


def test_merge_sums_every_pattern_found_in_the_parts() -> None:
    from pipeline.domain.models import PatternCount

    parts = [
        SessionAnalysis(
            insights=[insight("grammar.verb_tense", 3, "low", [])],
            focus_next="f",
            summary="s",
            pattern_counts=[
                PatternCount(pattern_id="grammar.verb_tense", count=3),
                PatternCount(pattern_id="vocabulary.filler_words", count=1),
            ],
        ),
        SessionAnalysis(
            insights=[insight("vocabulary.filler_words", 2, "low", [])], focus_next="f", summary="s"
        ),
    ]
    merged = merge_analyses(parts, model="m")
    assert {c.pattern_id: c.count for c in merged.pattern_counts} == {
        "grammar.verb_tense": 3,
        "vocabulary.filler_words": 3,
    }
