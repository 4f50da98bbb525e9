"""Confidence in the offline analyzer: weak rules' evidence quoted last, sure patterns get the slots first; disfluent speech raises no flag."""

from __future__ import annotations

import pytest

from pipeline.providers.analysis.rules.analyzer import RuleBasedAnalyzer, merge_same_pattern, rank
from pipeline.providers.analysis.rules.text import Finding
from tests.unit.providers.analysis.test_rules_analyzer import asr_style

TEXT = "She have two car. He go home. I likes it. They walks."


def finding(
    pattern_id: str, frequency: int, examples: tuple[str, ...], weak: tuple[str, ...] = ()
) -> Finding:
    return Finding(
        pattern_id=pattern_id,  # type: ignore[arg-type]
        severity="medium",
        frequency=frequency,
        examples=examples,
        detail="d",
        suggestion="s",
        next_step="n",
        weak_examples=weak,
    )


def test_weak_evidence_is_quoted_once_and_only_without_sure_evidence() -> None:
    assert finding("grammar.articles", 3, (), ("He go home", "I likes it")).quoted() == ("He go home",)
    assert finding("grammar.articles", 3, ("two car",), ("He go home",)).quoted() == ("two car",)


def test_merging_two_rules_keeps_sure_examples_apart_from_weak_ones() -> None:
    merged = merge_same_pattern(
        [
            finding("grammar.articles", 1, (), ("He go home",)),
            finding("grammar.articles", 1, ("two car",)),
        ],
        TEXT,
    )
    assert len(merged) == 1
    assert merged[0].quoted() == ("two car",) and merged[0].weak_examples == ("He go home",)


def test_sure_patterns_take_the_slots_before_judgements_of_style() -> None:
    ranked = rank(
        [
            finding("vocabulary.repetition", 40, ("a",)),
            finding("structure.run_on_sentences", 20, ("b",)),
            finding("grammar.plurals", 1, ("c",)),
            finding("vocabulary.filler_words", 2, ("d",)),
        ]
    )
    assert [f.pattern_id for f in ranked] == [
        "vocabulary.filler_words",
        "grammar.plurals",
        "vocabulary.repetition",
        "structure.run_on_sentences",
    ]


def test_an_insight_from_a_weak_rule_alone_still_quotes_verbatim_evidence() -> None:
    text = (
        "My uncle works in a big city. He told me that he met famous doctor at the station last week, "
        "and he was happy about it for days. We laughed about the story together over a long dinner."
    )
    insights = {i.pattern_id: i for i in RuleBasedAnalyzer().analyze(text).analysis.insights}
    articles = insights["grammar.articles"]
    assert len(articles.examples) == 1 and "famous doctor" in articles.examples[0]
    assert articles.examples[0] in text


SPOKEN = (
    "Um, so we we waited for the, uh, the bus and I listened to, like, music. There are, um, some people "
    "who live there and they, you know, they agree with the the rules about privacy and safety of of the "
    "society in Singapore. I think such a, uh, such a situation is rare, you know."
)


@pytest.mark.parametrize("style", ["typed", "asr"])
def test_disfluent_correct_speech_near_the_rules_v6_lexicons_raises_no_grammar_flag(style: str) -> None:
    text = asr_style(SPOKEN) if style == "asr" else SPOKEN
    found = {i.pattern_id for i in RuleBasedAnalyzer().analyze(text).analysis.insights}
    assert not {p for p in found if p.startswith("grammar.")}, found
