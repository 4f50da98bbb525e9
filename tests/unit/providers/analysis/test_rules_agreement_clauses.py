"""Agreement beyond subject and verb: 'there' + be against its noun, a relative pronoun's verb against its noun; traps silent."""

from __future__ import annotations

import pytest

from pipeline.providers.analysis.rules.agreement import relative_errors, there_be_errors
from tests.support.parsed_rules import quoted


@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        (
            there_be_errors,
            "If there are some controversy, the court decides.",
            ["there are some controversy"],
        ),
        (there_be_errors, "In my town there is many problems with traffic.", ["there is many problems"]),
        (relative_errors, "For example, the one who carry the tag can be found.", ["one who carry"]),
        (relative_errors, "It is a key that open the gate of the city.", ["key that open"]),
        (relative_errors, "We saw the problems which is caused by the new law.", ["problems which is"]),
    ],
)
def test_each_rule_finds_its_slip(nlp, rule, text: str, expected: list[str]) -> None:  # noqa: ANN001
    assert quoted(nlp, rule, text) == expected


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (there_be_errors, "There are a lot of cars. There is a pen and two books. There are no rules."),
        (there_be_errors, "There is some water and there are some people. There was a number of issues."),
        (relative_errors, "The man who lives here is kind. People who live here are kind."),
        (relative_errors, "It is one of the cities that are growing. The data which show this are new."),
        (relative_errors, "I know John, who works there, and a family that has two cars."),
    ],
)
def test_correct_agreement_stays_silent(nlp, rule, text: str) -> None:  # noqa: ANN001
    assert quoted(nlp, rule, text) == []
