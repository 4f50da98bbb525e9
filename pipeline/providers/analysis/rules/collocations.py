"""Prepositions in set phrases and verb patterns that learners bend, read from the parse.

- set phrases with the wrong preposition, or one where English has none: "in the other hand" (on),
  "in the same time" (at), "on my opinion" (in), "in my point of view" (from), "in the internet"
  (on), "on the newspaper" (in), "according with" (to), "in nowadays" and "go to home" (none);
- a noun of change with "of" before what changes: "the increase of crime" (in), "a rise of prices";
- a verb of stopping with an infinitive where English says "from + -ing": "prevent the family to
  lose", "stop them to come", "prohibit people to smoke".
Each span covers the phrase (or the verb through "to"), so the quote shows the slip in place.
"""

from __future__ import annotations

from typing import Any

from pipeline.providers.analysis.rules.text import wordset

#: Word sequences (lowercase) whose first word is the wrong or an extra preposition.
WRONG_PHRASES: tuple[tuple[str, ...], ...] = (
    ("in", "the", "other", "hand"),
    ("at", "the", "other", "hand"),
    ("in", "the", "same", "time"),
    ("on", "the", "same", "time"),
    ("on", "my", "opinion"),
    ("at", "my", "opinion"),
    ("in", "my", "point", "of", "view"),
    ("in", "his", "point", "of", "view"),
    ("in", "their", "point", "of", "view"),
    ("in", "the", "internet"),
    ("on", "the", "newspaper"),
    ("on", "newspaper"),
    ("on", "newspapers"),
    ("on", "the", "newspapers"),
    ("in", "nowadays"),
    ("until", "nowadays"),
    ("till", "nowadays"),
    ("according", "with"),
    ("according", "by"),
    ("according", "of"),
    ("regardless", "to"),
    ("instead", "to"),
    ("in", "the", "meanwhile"),
    # since rules-v6
    ("on", "the", "past"),
    ("on", "the", "future"),
    ("on", "the", "contrary", "of"),
    ("in", "the", "weekend"),
    ("in", "weekends"),
    ("on", "my", "point", "of", "view"),
    ("on", "his", "point", "of", "view"),
    ("on", "the", "same", "way"),
)
_GO_VERBS = wordset(
    "go goes went gone going come comes came coming return returns returned returning get got"
)
#: Verbs of stopping: "prevent/stop/prohibit/discourage/deter/ban someone from doing", never "to do".
# ("stop" and "keep" also take a purpose: "he stopped the car to look".)
STOPPING = wordset("prevent prohibit discourage deter ban restrain dissuade hinder forbid")


def _matches(tokens: Any, i: int, phrase: tuple[str, ...]) -> bool:
    return i + len(phrase) <= len(tokens) and all(tokens[i + k].lower_ == w for k, w in enumerate(phrase))


def phrase_errors(tokens: Any) -> list[tuple[int, int]]:
    """(first, last) token indices of a set phrase with the wrong or an extra preposition."""
    found = []
    for t in tokens:
        i = t.i
        for phrase in WRONG_PHRASES:
            if _matches(tokens, i, phrase):
                found.append((i, i + len(phrase) - 1))
                break
        else:
            if t.lower_ == "to" and i > 0 and i + 1 < len(tokens):
                nxt = tokens[i + 1]
                if nxt.lower_ == "home" and tokens[i - 1].lower_ in _GO_VERBS and nxt.dep_ != "compound":
                    after = tokens[i + 2] if i + 2 < len(tokens) else None
                    if after is None or after.tag_ not in ("NN", "NNS", "POS"):
                        found.append((i - 1, i + 1))
    return found


def stopping_infinitive(tokens: Any) -> list[tuple[int, int]]:
    """'prevent the family to lose': a verb of stopping, its object, then 'to' + a verb."""
    found = []
    for to in tokens:
        if to.lower_ != "to" or to.tag_ != "TO" or to.dep_ != "aux":
            continue
        verb = to.head
        if verb.tag_ != "VB":
            continue
        governor = verb.head
        # The parser hangs "to happen" on the verb of stopping, or on its object.
        if governor.pos_ in ("NOUN", "PROPN", "PRON") and governor.dep_ in ("dobj", "nsubj"):
            governor = governor.head
        if governor.lemma_.lower() not in STOPPING or governor.i >= to.i or to.i - governor.i > 8:
            continue
        if any(t.tag_ in ("CC", "WRB", ",", ":") for t in tokens[governor.i + 1 : to.i]):
            continue  # "prevent the abuse and how to", "prevent it, hence to"
        objects = [
            c
            for c in governor.children
            if c.dep_ in ("dobj", "ccomp", "xcomp", "nsubj") and governor.i < c.i <= to.i
        ]
        if not objects and verb.head.i == governor.i and not any(c.dep_ == "nsubj" for c in verb.children):
            continue  # "they stopped to rest": stopping in order to do something
        found.append((governor.i, to.i))
    return found


#: Nouns of change: the thing that changes follows "in" ("a rise in prices"); "of" takes an amount.
#: Their -ing forms are learners' nouns of change too: "the rising of life expectancy" (the rising
#: life expectancy, the rise in); not "growing", "ageing" or "changing", which name a process
#: ("the ageing of the population", "the changing of the guard").
CHANGE_NOUNS = wordset("increase decrease rise decline drop reduction rising increasing decreasing declining")
_AMOUNT_WORDS = wordset("percent per cent times half third quarter point points degree degrees")


def change_of(tokens: Any) -> list[tuple[int, int]]:
    """'the increase of life expectancy', 'a rise of prices': a noun of change, then 'of' + no amount."""
    found = []
    for of in tokens:
        if of.lower_ != "of" or of.i == 0:
            continue
        noun = tokens[of.i - 1]
        if noun.lower_ not in CHANGE_NOUNS or of.head.i != noun.i:
            continue
        if noun.pos_ != "NOUN" and not (
            noun.tag_ == "VBG" and noun.i > 0 and tokens[noun.i - 1].lower_ == "the"
        ):
            continue  # "by increasing of": only "the rising of" reads as a noun
        objects = [c for c in of.children if c.dep_ == "pobj"]
        if not objects:
            continue
        phrase = list(objects[0].subtree)
        if any(t.like_num or t.text == "%" or t.lower_ in _AMOUNT_WORDS for t in phrase):
            continue  # "an increase of 5 %", "a drop of two points"
        if objects[0].tag_ in ("NNP", "NNPS") or objects[0].lower_ in ("water", "blood", "rain"):
            continue  # "the rise of Rome", "a drop of water"
        found.append((noun.i, of.i))
    return found


#: Verbs whose particle repeats what the verb says: "raise up the standard", "lower down the cost".
DOUBLED_PARTICLES = {
    "raise": "up",
    "boost": "up",
    "increase": "up",
    "improve": "up",
    "lower": "down",
    "reduce": "down",
    "decrease": "down",
    "return": "back",
    "revert": "back",
}


def doubled_particles(tokens: Any) -> list[tuple[int, int]]:
    """'raised up', 'lowered down', 'return back': a particle that only repeats its verb's direction."""
    found = []
    for prt in tokens:
        if prt.dep_ not in ("prt", "advmod", "prep") or prt.i == 0:
            continue
        verb = prt.head
        if verb.pos_ != "VERB" or DOUBLED_PARTICLES.get(verb.lemma_.lower()) != prt.lower_:
            continue
        nxt = tokens[prt.i + 1] if prt.i + 1 < len(tokens) else None
        if prt.lower_ in ("up", "down") and (
            (nxt is not None and nxt.lower_ in ("to", "from"))
            or (prt.dep_ == "prep" and any(c.dep_ == "pobj" for c in prt.children))
        ):
            continue  # "increased up to 50 %", "lowered down the hill": a limit or a path, not a doubling
        if 0 < prt.i - verb.i <= 3:
            found.append((verb.i, prt.i))
    return found
