"""Noun number read from the tags: a singular noun where the words around it need a plural, and back.

- a number above one or a plural quantity word before a singular countable noun: "two friend",
  "many problem", "several reason", "one of the best place";
- a plural straight after "every" or "each" ("every students");
- a plural of a noun that English does not count ("informations", "advices", "equipments").
Countability comes from the same lexicon as the article rule (a noun on the uncountable list is
never asked to be plural), and compounds ("a two-hour drive", "a ten year old") are left alone.
"""

from __future__ import annotations

from typing import Any

from pipeline.providers.analysis.rules.articles import COUNTABLE_NOUNS
from pipeline.providers.analysis.rules.determiners import MORE_COUNTABLE, UNCOUNTABLE
from pipeline.providers.analysis.rules.text import wordset

_PLURAL_QUANTIFIERS = wordset("many several various numerous few both these those multiple")
# "a RFID tags" is as often marked an article slip as a number one: only these count here.
_SINGULAR_DETERMINERS = wordset("every each")
NEVER_PLURAL = wordset(
    """informations advices equipments furnitures knowledges luggages baggages homeworks evidences
    feedbacks softwares machineries staffs traffics pollutions researches vocabularies sceneries
    jewelleries garbages rubbishes childrens peoples womens mens sheeps datas stuffs"""
)
_NUMBERS = wordset(
    "two three four five six seven eight nine ten eleven twelve twenty thirty hundreds thousands"
)


def _count_noun(noun: Any) -> bool:
    low = noun.lower_
    return low not in UNCOUNTABLE and (low in COUNTABLE_NOUNS or low in MORE_COUNTABLE)


def _plural_quantifier(noun: Any) -> Any | None:
    """A number above one or a plural quantity word governing ``noun`` ("two friend", "many problem")."""
    for q in noun.children:
        if q.dep_ not in ("amod", "det", "nummod") or q.i > noun.i:
            continue
        low = q.lower_
        if low in _PLURAL_QUANTIFIERS or low in _NUMBERS or (q.text.isdigit() and q.text != "1"):
            before = noun.doc[q.i - 1].lower_ if q.i > 0 else ""
            if before not in (
                "a",
                "an",
                "the",
                "every",
                "each",
            ):  # "a few", "the two of us", "every two days"
                return q
    return None


def _one_of_the(noun: Any) -> Any | None:
    """'one of the best place': the 'one' of a singular noun after 'one of the/my'."""
    of = noun.head
    if noun.dep_ != "pobj" or of.lower_ != "of" or of.head.lower_ != "one" or of.head.i < noun.i - 5:
        return None
    return of.head if any(c.dep_ in ("det", "poss") for c in noun.children) else None


_PLURAL_HEADS = wordset("lot lots number variety couple range majority plenty dozens")


def _lot_of(noun: Any) -> Any | None:
    """'a lot of problem', 'a number of reason': the quantity word of a singular noun after 'of'."""
    of = noun.head
    if noun.dep_ != "pobj" or of.lower_ != "of" or of.head.lower_ not in _PLURAL_HEADS:
        return None
    return of.head if of.head.i == of.i - 1 and noun.i - of.i <= 3 else None


def number_errors(tokens: Any) -> list[tuple[int, int]]:
    """(first, last) token indices of a noun whose number its quantifier or its lexicon contradicts."""
    found = []
    for noun in tokens:
        if not noun.is_alpha or not noun.is_lower:
            continue
        nxt = noun.doc[noun.i + 1] if noun.i + 1 < len(noun.doc) else None
        if nxt is not None and (nxt.tag_ in ("NN", "NNS") or nxt.text in ("-", "'s", "'")):
            continue  # a modifier ("two friend groups") or a compound ("two-hour")
        if noun.lower_ in NEVER_PLURAL:
            found.append((noun.i, noun.i))
        elif noun.tag_ == "NN" and _count_noun(noun):
            first = _plural_quantifier(noun) or _one_of_the(noun) or _lot_of(noun)
            if first is not None:
                found.append((first.i, noun.i))
        elif noun.tag_ == "NNS" and noun.i > 0:
            before = noun.doc[noun.i - 1]
            if before.lower_ in _SINGULAR_DETERMINERS and before.dep_ == "det" and before.head is noun:
                found.append((before.i, noun.i))
    return found
