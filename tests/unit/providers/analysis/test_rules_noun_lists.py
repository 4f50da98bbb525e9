"""Noun number from lists and round numbers: 'accident' among plurals, 'thousand of cops'; correct traps stay silent."""

from __future__ import annotations

import pytest

from pipeline.providers.analysis.rules.nouns import number_errors
from tests.support.parsed_rules import quoted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("People die from natural disasters, accident, diseases or old age.", ["accident"]),
        ("The police mobilized thousand of officers that night.", ["thousand"]),
        ("Cameras are installed in shops, office and schools.", ["office"]),
    ],
)
def test_a_singular_noun_among_plurals_or_a_round_number_of_many_is_flagged(
    nlp,  # noqa: ANN001
    text: str,
    expected: list[str],
) -> None:
    assert quoted(nlp, number_errors, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "We bought a car and two bikes. She has a dog and cats.",
        "Two thousand of them came, and a million of us watched; hundreds of people waited.",
        "Shops and offices close early; the bank and the schools open late.",
    ],
)
def test_lists_and_numbers_that_are_right_stay_silent(nlp, text: str) -> None:  # noqa: ANN001
    assert quoted(nlp, number_errors, text) == []
