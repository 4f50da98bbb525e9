"""Articles that should not be there ('the society', 'an evidence'): found in learner sentences, silent on correct traps."""

from __future__ import annotations

import pytest

from pipeline.providers.analysis.rules.article_use import counted_uncountable, extra_the
from pipeline.providers.analysis.rules.parse import parse
from pipeline.providers.analysis.rules.syntax import parsed_articles
from pipeline.providers.analysis.rules.text import Doc
from tests.support.parsed_rules import quoted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Surveillance is needed because the society has become more dangerous.", ["the society"]),
        ("The government must respect the privacy when it uses cameras.", ["the privacy"]),
        ("In the modern society, people worry about the safety.", ["the modern society", "the safety"]),
        ("Older people can still contribute to the society.", ["the society"]),
    ],
)
def test_the_before_a_noun_meant_in_general_is_flagged(nlp, text: str, expected: list[str]) -> None:  # noqa: ANN001
    assert quoted(nlp, extra_the, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The society of Singapore is ageing, and the privacy of users matters.",
        "This affects the whole society and the entire society agrees.",
        "The society's needs come first, and the health care system is strained.",
        "Society has changed and privacy is a right. The safety that we want costs money.",
    ],
)
def test_the_that_says_which_one_stays_silent(nlp, text: str) -> None:  # noqa: ANN001
    assert quoted(nlp, extra_the, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The video can be used as an evidence in court.", ["an evidence"]),
        ("Longer lives are a progress for every nation.", ["a progress"]),
        ("She gave me an advice about the test.", ["an advice"]),
    ],
)
def test_a_before_a_noun_never_counted_is_flagged(nlp, text: str, expected: list[str]) -> None:  # noqa: ANN001
    assert quoted(nlp, counted_uncountable, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "He has a good knowledge of French and works as a security guard.",
        "We found evidence and made progress. A news agency called.",
    ],
)
def test_countable_uses_stay_silent(nlp, text: str) -> None:  # noqa: ANN001
    assert quoted(nlp, counted_uncountable, text) == []


def test_the_article_finding_quotes_the_article_slip(nlp) -> None:  # noqa: ANN001
    text = "The police can use the recording as an evidence. Everyone wants the safety."
    doc = Doc(text)
    doc.parsed = parse(nlp, doc)
    finding = parsed_articles(doc)
    assert finding is not None and finding.frequency == 2
    assert all(e in text for e in finding.examples)
    assert any("an evidence" in e for e in finding.examples) and any(
        "the safety" in e for e in finding.examples
    )


def test_such_before_a_bare_countable_noun_wants_such_a(nlp) -> None:  # noqa: ANN001
    from pipeline.providers.analysis.rules.article_use import such_without_a

    assert quoted(nlp, such_without_a, "In such situation, the police cannot help.") == ["such situation"]
    assert (
        quoted(nlp, such_without_a, "In such a situation we wait. Such problems and such information.") == []
    )
