"""The parsed-rule tests' shared spaCy model: loaded once per test process."""

from __future__ import annotations

import pytest

from pipeline.providers.analysis.rules import spacy_model


@pytest.fixture(scope="session")
def nlp():  # noqa: ANN201 - a spaCy Language
    return spacy_model.load(spacy_model.resolve())
