"""A singular countable noun with no article, read from the parse ("he is teacher", "I bought new car").

The parser says which word heads a noun phrase and what modifies it, so the rule sees "bought new
car" and "is very good cook" as well as "in park", and leaves "car seats" (a modifier) alone. It
needs to know that the noun is countable in this use, which no parse tells: a noun counts when it
is on the curated list of everyday countable nouns (``articles.COUNTABLE_NOUNS`` plus the nouns
below, which learners' essays use a lot), or when the same transcript uses it with "a"/"an"
elsewhere (the speaker's own evidence that it is countable); never when it is on the list of
nouns that are mostly uncountable or generic (``UNCOUNTABLE``), in a set phrase ("at home", "by
car", "in fact"), a name, a unit after a number, or a role after "as" ("elected as president").
"""

from __future__ import annotations

from typing import Any

from pipeline.providers.analysis.rules.articles import COUNTABLE_NOUNS
from pipeline.providers.analysis.rules.text import wordset

MORE_COUNTABLE = wordset(
    """individual citizen country company device system tool person patient member relative
    parent family child society government issue solution reason example method approach
    way chance opportunity situation question answer result consequence disadvantage advantage
    benefit risk threat factor report article essay letter story film song hobby event concert
    show festival holiday trip journey experience project course subject university school
    college teacher career job salary student worker employee employer boss manager customer
    organisation organization institution hospital doctor symptom test vaccine
    camera phone computer website program programme application machine robot vehicle car"""
)
UNCOUNTABLE = wordset(
    """information advice knowledge research education technology money time work homework news
    music water food health safety security privacy freedom society nature life love fun traffic
    pollution weather luggage baggage equipment furniture evidence progress transport transportation
    software hardware data energy electricity power development growth government management
    business industry science medicine treatment care help support attention access space
    population employment unemployment tourism entertainment shopping accommodation staff
    behaviour behavior communication technology internet television radio media surveillance
    importance use usage production consumption protection prevention information experience
    english french spanish chinese german japanese italian maths mathematics physics history
    biology chemistry art sport football basketball tennis breakfast lunch dinner school
    church bed home town work university college hospital prison class court sea"""
)
_HEAD_ROLES = frozenset({"nsubj", "nsubjpass", "dobj", "pobj", "attr", "appos", "conj"})
_DETERMINING = frozenset({"det", "poss", "nummod", "quantmod", "predet", "case"})
_SET_PHRASE_PREPS = wordset("by per")
# Preposition + bare noun idioms: "for example", "in fact", "at risk", "on time".
SET_PHRASES = frozenset(
    (p.split()[0], p.split()[1])
    for p in [
        "for example",
        "for instance",
        "in fact",
        "in conclusion",
        "in addition",
        "in particular",
        "in general",
        "in short\n    ",
        "in summary",
        "in total",
        "in advance",
        "in time",
        "in person",
        "in public",
        "in private",
        "in danger",
        "in charge",
        "in control\n    ",
        "in use",
        "in order",
        "in return",
        "in contrast",
        "in comparison",
        "in practice",
        "in theory",
        "in reality",
        "in detail\n    ",
        "in answer",
        "in response",
        "in case",
        "in favour",
        "in favor",
        "in mind",
        "in touch",
        "in line",
        "in turn",
        "in place",
        "in effect\n    ",
        "at risk",
        "at threat",
        "at stake",
        "at home",
        "at work",
        "at school",
        "at night",
        "at present",
        "at first",
        "at last",
        "at least\n    ",
        "at hand",
        "on time",
        "on foot",
        "on purpose",
        "on average",
        "on board",
        "on sale",
        "on stage",
        "on screen",
        "on top",
        "on behalf\n    ",
        "on display",
        "under control",
        "under pressure",
        "under threat",
        "after all",
        "by example",
        "from scratch",
        "as example\n    ",
        "to date",
        "to bed",
        "to school",
        "to work",
        "to church",
        "to hospital",
        "to university",
        "to college",
        "to town",
        "to prison\n    ",
        "of course",
        "of age",
        "with regard",
        "with respect",
        "with reference",
        "without doubt",
        "beyond doubt",
        "by chance\n    ",
        "by mistake",
        "by accident",
        "by hand",
        "in question",
        "for sale",
        "for free",
        "for fun",
        "at random",
    ]
)
# "a lot of problem", "a kind of car": the bare noun after these is a number or a kind, not an article slip.
_OF_HEADS = wordset(
    """lot lots kind kinds type types sort sorts number amount most some all any many much few
    part piece plenty majority variety range deal"""
)


# Nouns a text may use with "a" ("a long life", "a success") that learners mostly use in general,
# uncounted ("to age", "hunger", "commit murder", "great success"): a/an elsewhere is no evidence.
_OFTEN_UNCOUNTED = wordset(
    """age hunger murder crime success failure quality risk comparison poverty death violence war
    peace change growth benefit contribution achievement solution advantage disadvantage progress
    illness disease human"""
)
_ABSTRACT_SUFFIXES = ("tion", "sion", "ment", "ness", "ity", "ance", "ence", "ism", "ship", "ing")


def _countable(noun: Any, a_nouns: set[str]) -> bool:
    lemma = noun.lower_
    if lemma in UNCOUNTABLE or lemma == "human":  # bare "human" is a plural slip: ``nouns``
        return False
    if lemma in COUNTABLE_NOUNS or lemma in MORE_COUNTABLE:
        return True
    return lemma in a_nouns and lemma not in _OFTEN_UNCOUNTED


def countable(noun: Any) -> bool:
    """Whether a noun is on the curated countable lists (no evidence from the transcript needed)."""
    return _countable(noun, set())


def a_nouns_of(tokens: Any) -> set[str]:
    """Nouns this transcript uses after a/an: its own evidence that they are countable."""
    return {
        t.head.lower_ for t in tokens if t.lower_ in ("a", "an") and t.dep_ == "det" and t.head.tag_ == "NN"
    }


def missing_determiners(tokens: Any) -> list[tuple[int, int]]:
    """(first, last) token indices of a bare singular countable noun phrase."""
    a_nouns = a_nouns_of(tokens)
    found = []
    for noun in tokens:
        if noun.tag_ != "NN" or not noun.is_alpha or not noun.is_lower or noun.dep_ not in _HEAD_ROLES:
            continue
        if not _countable(noun, a_nouns):
            continue
        children = list(noun.children)
        if any(c.dep_ in _DETERMINING or c.tag_ in ("DT", "PRP$", "CD", "WP$", "POS") for c in children):
            continue
        if any(
            c.dep_ in ("compound", "amod") and any(g.dep_ in _DETERMINING for g in c.children)
            for c in children
        ):
            continue
        left = noun.left_edge
        if left.i > 0 and noun.doc[left.i - 1].tag_ in ("DT", "PRP$", "POS", "CD"):
            continue  # a determiner the parser attached elsewhere
        head = noun.head
        if noun.dep_ == "pobj" and (
            head.lower_ in _SET_PHRASE_PREPS
            or (head.lower_, noun.lower_) in SET_PHRASES
            or (head.lower_ == "of" and head.head.lower_ in _OF_HEADS)
        ):
            continue
        if any(t.tag_ in ("NNP", "NNPS") or not t.is_lower for t in noun.subtree if t.is_alpha):
            continue  # part of a name: "Miami international airport"
        if any(c.dep_ == "compound" or c.lower_ in ("such", "more", "less", "enough") for c in children):
            continue  # "police office" may be a name; "such device" is as often a plural slip
        if (
            noun.doc[max(noun.i - 2, 0)].lower_ == noun.lower_
            or noun.doc[min(noun.i + 2, len(noun.doc) - 1)].lower_ == noun.lower_
            and noun.doc[min(noun.i + 1, len(noun.doc) - 1)].lower_ == "to"
        ):
            continue  # "from city to city", "day by day"
        if noun.dep_ == "conj" and head.tag_ == "NN":
            continue  # "husband and wife", or the first noun's determiner covers both
        if noun.dep_ == "pobj" and head.lower_ == "as":
            continue
        if noun.i + 1 < len(noun.doc) and noun.doc[noun.i + 1].tag_ in ("NN", "NNS", "NNP"):
            continue  # the noun modifies the next one
        found.append((left.i, noun.i))
    return found
