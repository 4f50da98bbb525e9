"""Articles that should not be there, read from the parse: "the society", "an evidence".

The other article rules look for a missing one. In real learner essays (NUCLE, FCE) an article that
is there but should not be is as common, and two shapes of it are sure enough to flag:

- "the" before an abstract noun used in general, with nothing after it that says which one: "the
  society needs rules", "to protect the privacy" (but "the society of Singapore", "the privacy of
  users", "the whole society" and "the same safety" say which one and stay silent);
- "a"/"an" before a noun English does not count: "an evidence", "a progress", "a safe security";
- "such" before a bare singular countable noun, which wants "such a": "in such situation".

Each noun list is short and curated: a noun joins it only when its general use takes no article
(``GENERIC_NOUNS``) or it has no countable sense in everyday English (``NEVER_COUNTED``).
"""

from __future__ import annotations

from typing import Any

from pipeline.providers.analysis.rules.determiners import countable
from pipeline.providers.analysis.rules.text import wordset

# Abstract nouns that, meant in general, take no article ("society has changed", "for safety").
GENERIC_NOUNS = wordset(
    """society safety privacy reality mankind humanity humankind democracy poverty happiness
    pollution health"""
)
# Adjectives that pick out one whole or one instance: "the whole society", "the same safety".
_SPECIFYING = wordset("whole entire same very former latter above following present current")
# Nouns with no countable sense in everyday English ("an evidence", "a progress", "an advice").
NEVER_COUNTED = wordset(
    """evidence progress advice information research knowledge equipment furniture luggage baggage
    traffic pollution security safety privacy homework news proof"""
)
# "a knowledge of", "a good knowledge of" and "a security guard" are English: the noun must head its phrase.
_POST_MODIFIERS = frozenset({"prep", "relcl", "acl", "appos"})


def extra_the(tokens: Any) -> list[tuple[int, int]]:
    """(first, last) token indices of 'the' + an abstract noun meant in general."""
    found = []
    for det in tokens:
        if det.lower_ != "the" or det.dep_ != "det":
            continue
        noun = det.head
        if noun.tag_ != "NN" or noun.lower_ not in GENERIC_NOUNS or noun.i < det.i:
            continue
        children = list(noun.children)
        if any(c.dep_ in _POST_MODIFIERS for c in children):
            continue  # "the safety of our children": which safety is said
        if any(c.lower_ in _SPECIFYING or c.dep_ == "compound" for c in children):
            continue
        if noun.i + 1 < len(tokens) and tokens[noun.i + 1].tag_ in ("NN", "NNS", "POS"):
            continue  # "the health care system", "the society's needs"
        found.append((det.i, noun.i))
    return found


def counted_uncountable(tokens: Any) -> list[tuple[int, int]]:
    """(first, last) token indices of 'a'/'an' + a noun English does not count."""
    found = []
    for det in tokens:
        if det.lower_ not in ("a", "an") or det.dep_ != "det":
            continue
        noun = det.head
        if noun.tag_ != "NN" or noun.lower_ not in NEVER_COUNTED or noun.i < det.i:
            continue
        if noun.lower_ in ("knowledge", "security", "safety", "research") and any(
            c.dep_ == "prep" for c in noun.children
        ):
            continue  # "a good knowledge of French", "a research into" is debatable: left alone
        if noun.i + 1 < len(tokens) and tokens[noun.i + 1].tag_ in ("NN", "NNS"):
            continue  # "a security guard", "a news agency"
        found.append((det.i, noun.i))
    return found


def such_without_a(tokens: Any) -> list[tuple[int, int]]:
    """(first, last) token indices of 'such' + a bare singular countable noun ('in such situation')."""
    found = []
    for such in tokens:
        if such.lower_ != "such" or such.dep_ not in ("amod", "det", "predet"):
            continue
        noun = such.head
        if noun.tag_ != "NN" or noun.i <= such.i or not countable(noun):
            continue
        if any(c.dep_ in ("det", "poss") for c in noun.children) or tokens[such.i + 1].lower_ in ("a", "an"):
            continue
        if noun.i + 1 < len(tokens) and tokens[noun.i + 1].tag_ in ("NN", "NNS"):
            continue
        found.append((such.i, noun.i))
    return found
