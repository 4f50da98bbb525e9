"""The controlled vocabulary of pattern ids.

Profiles aggregate by ``pattern_id`` across sessions and providers, so the ids must never drift:
an LLM is given this list as an enum and the offline analyzer uses it directly.
"""

from __future__ import annotations

from typing import Literal, cast, get_args

Category = Literal["grammar", "vocabulary", "structure"]
Severity = Literal["high", "medium", "low"]

PatternId = Literal[
    "grammar.verb_tense",
    "grammar.subject_verb_agreement",
    "grammar.articles",
    "grammar.prepositions",
    "grammar.word_order",
    "grammar.plurals",
    "vocabulary.overused_intensifiers",
    "vocabulary.vague_words",
    "vocabulary.filler_words",
    "vocabulary.repetition",
    "vocabulary.limited_connectors",
    "structure.repetitive_starters",
    "structure.short_simple_sentences",
    "structure.run_on_sentences",
    "structure.incomplete_sentences",
    "other",
]

PATTERN_IDS: tuple[str, ...] = get_args(PatternId)
CATEGORIES: tuple[str, ...] = get_args(Category)
SEVERITIES: tuple[str, ...] = get_args(Severity)

#: Human labels, used when a provider gives none and in profile tables.
LABELS: dict[str, str] = {
    "grammar.verb_tense": "Verb tense",
    "grammar.subject_verb_agreement": "Subject-verb agreement",
    "grammar.articles": "Articles (a / an / the)",
    "grammar.prepositions": "Prepositions",
    "grammar.word_order": "Word order",
    "grammar.plurals": "Plurals",
    "vocabulary.overused_intensifiers": "Overused intensifiers",
    "vocabulary.vague_words": "Vague words",
    "vocabulary.filler_words": "Filler words",
    "vocabulary.repetition": "Repeated words",
    "vocabulary.limited_connectors": "Limited connectors",
    "structure.repetitive_starters": "Repetitive sentence starters",
    "structure.short_simple_sentences": "Short simple sentences",
    "structure.run_on_sentences": "Run-on sentences",
    "structure.incomplete_sentences": "Incomplete sentences",
    "other": "Other",
}

#: Ranking weight of a severity: insights are ordered by frequency x weight.
SEVERITY_WEIGHT: dict[str, int] = {"high": 3, "medium": 2, "low": 1}


def category_of(pattern_id: str) -> Category:
    """The category a pattern id belongs to; ``other`` is filed under structure."""
    head = pattern_id.split(".", 1)[0]
    return cast(Category, head) if head in CATEGORIES else "structure"
