"""A missing preposition between a verb and what it is about ('listen music', 'I agree you'); correct traps silent."""

from __future__ import annotations

import pytest

from pipeline.providers.analysis.rules.missing_preposition import missing_prepositions
from tests.support.parsed_rules import quoted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("In the evening I listen music with my brother.", ["listen music"]),
        ("Many parents do not agree the new policy.", ["agree the new policy"]),
        ("We waited the bus for an hour.", ["waited the bus"]),
        ("Our plane arrived the airport late at night.", ["arrived the airport"]),
        ("Too many old people rely their children for money.", ["rely their children"]),
    ],
)
def test_a_verb_whose_object_needs_a_preposition_is_flagged(nlp, text: str, expected: list[str]) -> None:  # noqa: ANN001
    assert quoted(nlp, missing_prepositions, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "We listened to music and waited for the bus. I agree with you.",
        "Wait a minute, we arrived home late and talked all night.",
        "I agree that it is expensive. She contributed money to the charity.",
        "They suffered a loss, and he waited two hours.",
    ],
)
def test_correct_uses_stay_silent(nlp, text: str) -> None:  # noqa: ANN001
    assert quoted(nlp, missing_prepositions, text) == []
