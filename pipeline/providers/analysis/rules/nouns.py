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
from pipeline.providers.analysis.rules.determiners import MORE_COUNTABLE, UNCOUNTABLE, a_nouns_of
from pipeline.providers.analysis.rules.text import wordset

_PLURAL_QUANTIFIERS = wordset("many several various numerous few both these those multiple")
# "a RFID tags" is as often marked an article slip as a number one: only these count here.
_SINGULAR_DETERMINERS = wordset("every each")
NEVER_PLURAL = wordset(
    """informations advices equipments furnitures knowledges luggages baggages homeworks evidences
    feedbacks softwares machineries staffs traffics pollutions researches vocabularies sceneries
    jewelleries garbages rubbishes childrens peoples womens mens sheeps datas stuffs usages
    infrastructures harms wrongdoings behaviours behaviors healths privacies welfares
    transportations progresses surveillances"""
)
_NUMBERS = wordset(
    "two three four five six seven eight nine ten eleven twelve twenty thirty hundreds thousands"
)


# Countable after "many" or "other", but as often generic with no article ("to prevent disease"):
# counted here, not by the article rule.
_COUNTED_AFTER_QUANTITIES = wordset("disease illness")


def _count_noun(noun: Any) -> bool:
    low = noun.lower_
    return low not in UNCOUNTABLE and (
        low in COUNTABLE_NOUNS or low in MORE_COUNTABLE or low in _COUNTED_AFTER_QUANTITIES
    )


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


# Words before a noun that ask for a plural as "many" does, but also modify other words:
# "more advanced method", "other device", "all student", "most country" ("such situation" is more
# often "such a situation": ``article_use`` reads it).
_PLURAL_MODIFIERS = wordset("other more different all most")
# Before these a singular is right: "the other day", "each other", "one more time", "any other way".
_SINGULAR_BEFORE_MODIFIER = wordset(
    "a an the one any no each every some this that its his her my your our their"
)
# Nouns the subject rule reads as kinds of people or things spoken of in general ("human are").
_GENERIC_SUBJECTS = wordset("human citizen individual person")


def _plural_modifier(noun: Any, a_nouns: set[str]) -> Any | None:
    """'other device', 'more advanced method', 'all student': a plural-asking word before a bare count noun."""
    if any(c.dep_ in ("det", "poss", "nummod") and c.lower_ not in _PLURAL_MODIFIERS for c in noun.children):
        return None
    for q in noun.children:
        if (
            q.i > noun.i
            or q.dep_ not in ("amod", "advmod", "det", "predet")
            or q.lower_ not in _PLURAL_MODIFIERS
        ):
            continue
        if q.lower_ in ("more", "most") and q.head.i != noun.i:
            continue
        before = noun.doc[q.i - 1].lower_ if q.i > 0 else ""
        if before in _SINGULAR_BEFORE_MODIFIER or before in ("than", "of"):
            return None
        if q.lower_ == "more" and noun.lower_ in ("time", "way", "chance", "thing"):
            return None
        return q
    # "more" modifying the adjective: "more advanced method".
    for adj in noun.children:
        if adj.dep_ == "amod" and adj.i < noun.i:
            more = [c for c in adj.children if c.dep_ == "advmod" and c.lower_ == "more" and c.i < adj.i]
            before = noun.doc[more[0].i - 1].lower_ if more and more[0].i > 0 else ""
            if more and before not in _SINGULAR_BEFORE_MODIFIER and before not in ("than", "of"):
                return more[0]
    return None


def _plural_verb_subject(noun: Any) -> Any | None:
    """'sometimes machine are', 'human need': a bare singular count noun as the subject of a plural verb."""
    if noun.dep_ != "nsubj" or any(
        c.dep_ in ("det", "poss", "nummod", "compound", "conj") for c in noun.children
    ):
        return None
    verb = noun.head
    auxes = [c for c in verb.children if c.dep_ in ("aux", "auxpass") and c.i > noun.i]
    finite = auxes[0] if auxes else verb
    if finite.tag_ != "VBP" or finite.lower_ in ("am",) or finite.i - noun.i > 3:
        return None
    if noun.i > 0 and noun.doc[noun.i - 1].tag_ in ("DT", "PRP$", "POS", "CD", "JJ", "NN", "NNS"):
        return None
    return finite


def _bare_human(noun: Any) -> bool:
    """'helps human to live longer', 'human lived': the noun "human" alone means humans (or people)."""
    # The tagger often reads a bare "human" as an adjective; its role in the clause says it is a noun.
    if noun.lower_ != "human" or noun.dep_ not in ("nsubj", "nsubjpass", "dobj", "pobj", "conj", "appos"):
        return False
    if any(c.dep_ in ("det", "poss", "nummod", "amod", "compound") for c in noun.children):
        return False
    before = noun.doc[noun.i - 1] if noun.i > 0 else None
    return before is None or before.tag_ not in ("DT", "PRP$", "POS", "CD", "JJ", "HYPH")


_ROUND_NUMBERS = wordset("hundred thousand million billion dozen")


def _round_number_of(noun: Any) -> bool:
    """'thousand of cops', 'million of people': a round number used as a quantity of many is plural."""
    if (
        noun.lower_ not in _ROUND_NUMBERS
        or noun.i + 1 >= len(noun.doc)
        or noun.doc[noun.i + 1].lower_ != "of"
    ):
        return False
    before = noun.doc[noun.i - 1] if noun.i > 0 else None
    return before is None or not (before.like_num or before.lower_ in ("a", "one", "the", "several", "few"))


def _listed_with_plurals(noun: Any) -> bool:
    """'natural disasters, accident, diseases', 'personal feeling and idea' beside plurals: a bare
    singular count noun in a list of bare plurals is one of many too."""
    if any(c.dep_ in ("det", "poss", "nummod") for c in noun.children):
        return False
    before = noun.doc[noun.i - 1] if noun.i > 0 else None
    if before is not None and before.tag_ in ("DT", "PRP$", "POS", "CD"):
        return False
    if noun.dep_ == "conj":
        first = noun.head
        while first.dep_ == "conj" and first.head.tag_ in ("NN", "NNS"):
            first = first.head
    else:
        first = noun
    members = [first] + [t for t in first.subtree if t.dep_ == "conj" and t.tag_ in ("NN", "NNS")]
    plurals = [
        m
        for m in members
        if m.tag_ == "NNS" and not any(c.dep_ in ("det", "poss", "nummod") for c in m.children)
    ]
    return len(members) >= 2 and len(plurals) >= 1 and noun in members


def number_errors(tokens: Any) -> list[tuple[int, int]]:
    """(first, last) token indices of a noun whose number its quantifier or its lexicon contradicts."""
    a_nouns = a_nouns_of(tokens)
    found = []
    for noun in tokens:
        if not noun.is_alpha or not noun.is_lower:
            continue
        nxt = noun.doc[noun.i + 1] if noun.i + 1 < len(noun.doc) else None
        if nxt is not None and (nxt.tag_ in ("NN", "NNS") or nxt.text in ("-", "'s", "'")):
            continue  # a modifier ("two friend groups") or a compound ("two-hour")
        if noun.lower_ in NEVER_PLURAL or _bare_human(noun) or _round_number_of(noun):
            found.append((noun.i, noun.i))
        elif noun.tag_ == "NN" and (_count_noun(noun) or noun.lower_ in _GENERIC_SUBJECTS):
            first = _plural_quantifier(noun) or _one_of_the(noun) or _lot_of(noun)
            if first is None:
                first = _plural_modifier(noun, a_nouns)
            if first is not None:
                found.append((first.i, noun.i))
            elif verb := _plural_verb_subject(noun):
                found.append((noun.i, verb.i))
            elif _listed_with_plurals(noun):
                found.append((noun.i, noun.i))
        elif noun.tag_ == "NNS" and noun.i > 0:
            before = noun.doc[noun.i - 1]
            if before.lower_ in _SINGULAR_DETERMINERS and before.dep_ == "det" and before.head.i == noun.i:
                found.append((before.i, noun.i))
    return found
