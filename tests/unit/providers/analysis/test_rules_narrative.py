"""A present action verb inside a story told in the past ('the guide takes us'); states, reported speech and asides silent."""

from __future__ import annotations

import pytest

from pipeline.providers.analysis.rules import spacy_model
from pipeline.providers.analysis.rules.analyzer import RuleBasedAnalyzer
from pipeline.providers.analysis.rules.narrative import narrative_slips
from pipeline.providers.analysis.rules.parse import parse
from pipeline.providers.analysis.rules.text import Doc
from tests.unit.providers.analysis.test_rules_analyzer import asr_style


@pytest.fixture(scope="module")
def nlp():  # noqa: ANN201 - a spaCy Language, loaded once for the module (and cached per process)
    return spacy_model.load(spacy_model.resolve())


def quoted(nlp, text: str) -> list[str]:  # noqa: ANN001
    doc = Doc(text)
    doc.parsed = parse(nlp, doc)
    return [text[slice(*doc.parsed.span(a, b))] for a, b in narrative_slips(doc.parsed.tokens)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Last summer we went to Scotland. We arrived in Edinburgh at nine and the guide takes us "
            "to the castle. We saw the towers and ate lunch there.",
            ["guide takes"],
        ),
        (
            "I went to the concert on Saturday. When we arrived, the band was late. Then the singer "
            "comes on stage and everybody cheered.",
            ["singer comes"],
        ),
    ],
)
def test_a_present_action_verb_in_a_past_story_is_flagged(nlp, text: str, expected: list[str]) -> None:  # noqa: ANN001
    assert quoted(nlp, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I went to the concert on Saturday. The band was late. I think it was the best night of my "
        "life. The hall is very old and it stands near the river.",
        "She told me that she works in a bank. We met at a party and talked for hours. She said the job pays well.",
        'We stopped at the gate. The guard shouted "Nobody goes in!" and we waited outside.',
        "I usually take the bus to work. It leaves at eight and arrives at nine. Today I walk.",
    ],
)
def test_states_reported_speech_and_present_texts_stay_silent(nlp, text: str) -> None:  # noqa: ANN001
    assert quoted(nlp, text) == []


def test_unpunctuated_speech_is_not_read_as_a_story() -> None:
    text = asr_style(
        "Last summer we went to Scotland. We arrived in Edinburgh at nine and the guide takes us "
        "to the castle. We saw the towers and ate lunch there and then we drove home."
    )
    found = {i.pattern_id for i in RuleBasedAnalyzer().analyze(text).analysis.insights}
    assert "grammar.verb_tense" not in found
