"""The rules-v6 preposition lexicon: verbs with a needless preposition, adjectives with the wrong one, set phrases; traps silent."""

from __future__ import annotations

import pytest

from pipeline.providers.analysis.rules.collocations import change_of, doubled_particles, phrase_errors
from pipeline.providers.analysis.rules.prepositions import preposition_errors
from tests.support.parsed_rules import quoted


@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        (preposition_errors, "They had no choice but to seek for help from the police.", ["seek for"]),
        (preposition_errors, "Criminals can access to our data very easily.", ["access to"]),
        (preposition_errors, "The media can influence on young people.", ["influence on"]),
        (preposition_errors, "The elderly are not able of working long hours.", ["able of"]),
        (preposition_errors, "Parents are worried on the safety of their children.", ["worried on"]),
        (phrase_errors, "On the past, people lived shorter lives.", ["On the past"]),
        (phrase_errors, "On my point of view, the benefits are larger.", ["On my point of view"]),
        (change_of, "The rising of life expectancy is a success.", ["rising of"]),
        (preposition_errors, "Singapore should invest on education.", ["invest on"]),
        (preposition_errors, "The two views are contradicting with each other.", ["contradicting with"]),
        (doubled_particles, "The economy is boosted up by young workers.", ["boosted up"]),
        (doubled_particles, "Costs will be lowered down when the time passes.", ["lowered down"]),
        (doubled_particles, "After the war they returned back to their village.", ["returned back"]),
    ],
)
def test_each_new_entry_finds_its_slip(nlp, rule, text: str, expected: list[str]) -> None:  # noqa: ANN001
    assert quoted(nlp, rule, text) == expected


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (preposition_errors, "We seek help. Users need access to data, and it has an influence on them."),
        (preposition_errors, "The harm to society is real. He was able to work and worried about it."),
        (preposition_errors, "The damage to the car was small, and the police tracked him to his house."),
        (
            phrase_errors,
            "In the past we walked; in the future we will fly. From my point of view it is fine.",
        ),
        (change_of, "The ageing of the population and the rising cost of food worry us."),
        (preposition_errors, "We invest in schools and give them books. We discussed it with them."),
        (doubled_particles, "She brought up two children and the price went up. Sales increased up to 50%."),
        (doubled_particles, "They raised the prices, turned down the offer and came back home."),
    ],
)
def test_correct_uses_stay_silent(nlp, rule, text: str) -> None:  # noqa: ANN001
    assert quoted(nlp, rule, text) == []
