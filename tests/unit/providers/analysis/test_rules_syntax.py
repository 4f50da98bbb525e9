"""The parse-based grammar rules: each finds learner slips, stays silent on correct traps, and reads speech."""

from __future__ import annotations

import pytest

from pipeline.providers.analysis.rules.analyzer import RuleBasedAnalyzer
from pipeline.providers.analysis.rules.syntax import (
    parsed_agreement,
    parsed_articles,
    parsed_plurals,
    parsed_prepositions,
    parsed_tense,
)
from pipeline.providers.analysis.rules.text import Detector
from tests.support.parsed_rules import parsed
from tests.unit.providers.analysis.test_rules_analyzer import asr_style

# Learner sentences (the kind the NUCLE and FCE essays hold), with the words each flag must quote.
FOUND = [
    (
        parsed_agreement,
        "The price of the new houses are too high for young people.",
        "price of the new houses are",
    ),
    (parsed_agreement, "My brother play football every weekend.", "brother play"),
    (parsed_agreement, "Surveillance technology have many advantages.", "technology have"),
    (parsed_agreement, "In my country the people is very friendly.", "people is"),
    (parsed_agreement, "They was late again.", "They was"),
    (parsed_tense, "Yesterday I go to the cinema with my friends.", "Yesterday I go"),
    (parsed_tense, "I have seen that film two years ago.", "have seen that film two years ago"),
    (parsed_tense, "I will call you when I will arrive in London.", "will arrive"),
    (parsed_articles, "My father is very good teacher.", "very good teacher"),
    (parsed_articles, "She bought new car last month.", "new car"),
    (parsed_prepositions, "We discussed about the problem for an hour.", "discussed about"),
    (parsed_prepositions, "The result depends of the weather.", "depends of"),
    (parsed_prepositions, "Many students are interested about politics.", "interested about"),
    (parsed_prepositions, "The concert was on 2010.", "on 2010"),
    (parsed_plurals, "I have visited many country in Europe.", "many country"),
    (parsed_plurals, "It is one of the best restaurant in the city.", "one of the best restaurant"),
    (parsed_plurals, "They gave us a lot of useful informations.", "informations"),
    (parsed_plurals, "There are a lot of problem in this city.", "lot of problem"),
    (parsed_plurals, "A number of student failed the test.", "number of student"),
]

# Correct English with the same surface: each must stay silent.
SILENT = [
    (parsed_agreement, "If it were cheaper, everyone would buy it. The government are divided on this."),
    (parsed_agreement, "One of the reasons is cost. A number of people were there. John and Mary are here."),
    (parsed_agreement, "She can swim. My parents, who live in Rome, visit us. What he says matters."),
    (parsed_tense, "Since last year I have lived here. I went there yesterday. When I arrive, I will call."),
    (parsed_tense, "Every day last week was hot. I know what you did last summer."),
    (parsed_articles, "I like music and drink water. He works as manager at home, for example, by car."),
    (parsed_articles, "She is a good cook and we bought car seats in Central Park."),
    (parsed_prepositions, "We discussed the problem. It depends on the weather. I am interested in art."),
    (parsed_prepositions, "The effect of the law was clear. We met on Monday, in May, in 2010."),
    (
        parsed_plurals,
        "A few days ago two friends and many books arrived. Every student has a two-hour class.",
    ),
    (parsed_plurals, "We need information and advice, and one of my friends came."),
    (parsed_plurals, "A lot of money and a lot of time went into a number of projects. Lots of work."),
]


@pytest.mark.parametrize(("detector", "text", "quoted"), FOUND, ids=lambda x: getattr(x, "__name__", None))
def test_each_parse_rule_finds_its_slip(nlp, detector: Detector, text: str, quoted: str) -> None:  # noqa: ANN001
    finding = detector(parsed(nlp, text))
    assert finding is not None, text
    assert finding.frequency == 1
    assert any(quoted in example for example in finding.quoted()), finding.quoted()
    assert all(example in text for example in finding.quoted())


@pytest.mark.parametrize(("detector", "text"), SILENT, ids=lambda x: getattr(x, "__name__", None))
def test_each_parse_rule_stays_silent_on_correct_traps(nlp, detector: Detector, text: str) -> None:  # noqa: ANN001
    assert detector(parsed(nlp, text)) is None


SPOKEN = "um so yesterday i i go to the the market and uh my sister she don't like it you know because it is um crowded"


def test_fillers_and_restarts_are_not_parsed_but_quotes_stay_verbatim(nlp) -> None:  # noqa: ANN001
    doc = parsed(nlp, SPOKEN)
    words = [t.text for t in doc.parsed.tokens]
    assert "um" not in words and "uh" not in words and words.count("the") == 1 and words.count("i") == 1
    agreement = parsed_agreement(doc)
    assert agreement is not None and any("she don't" in e for e in agreement.examples)
    tense = parsed_tense(doc)
    assert tense is not None and all(e in SPOKEN for e in tense.examples)
    assert any("yesterday i i go" in e for e in tense.examples)  # the restart is inside the quote


@pytest.mark.parametrize("style", ["typed", "asr"])
def test_disfluent_correct_speech_raises_no_grammar_flag(style: str) -> None:
    text = (
        "Um, so I I went to the, uh, the park yesterday, you know, and, like, we we had a picnic. "
        "My sister, she, um, she brought sandwiches and I brought, uh, some juice."
    )
    text = asr_style(text) if style == "asr" else text
    found = {i.pattern_id for i in RuleBasedAnalyzer().analyze(text).analysis.insights}
    assert not {p for p in found if p.startswith("grammar.")}, found


def test_two_rules_finding_one_slip_count_it_once() -> None:
    text = "Yesterday I go to the market and my sister have two car. She don't like it."
    insights = {i.pattern_id: i for i in RuleBasedAnalyzer().analyze(text).analysis.insights}
    assert insights["grammar.verb_tense"].frequency == 1  # the surface rule and the parse both see it
    assert insights["grammar.subject_verb_agreement"].frequency == 2  # sister have, She don't


def test_a_session_too_short_to_judge_says_so() -> None:
    analysis = RuleBasedAnalyzer().analyze("I went home. It was fine.").analysis
    assert [i.pattern_id for i in analysis.insights] == ["other"]
    assert analysis.insights[0].pattern == "Too short to judge"
    assert "too short" in analysis.summary and "Good news" not in analysis.summary
