"""Running one parsed rule of the offline analyzer on a sentence, as its unit tests do."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pipeline.providers.analysis.rules.parse import parse
from pipeline.providers.analysis.rules.text import Doc


def parsed(nlp: Any, text: str) -> Doc:
    """``text`` as the analyzer sees it: words, sentences and the spaCy parse."""
    doc = Doc(text)
    doc.parsed = parse(nlp, doc)
    return doc


def quoted(nlp: Any, rule: Callable[[Any], Iterable[tuple[int, int]]], text: str) -> list[str]:
    """The words each flag of ``rule`` quotes in ``text``."""
    doc = parsed(nlp, text)
    assert doc.parsed is not None
    return [text[slice(*doc.parsed.span(a, b))] for a, b in rule(doc.parsed.tokens)]
