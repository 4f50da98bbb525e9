"""Verb tense against the time frame around it, read from the parse (beyond single past-time words).

- a present-time frame ("nowadays", "currently", "these days", "at present") with a past verb in
  its clause: "Nowadays, people used their phones everywhere";
- a frame that runs up to now ("so far", "up to now", "until now", "since 2005", "for the past ten
  years", "over the last decades", "in recent years") with a verb that is not in a perfect tense:
  "Since 2005 the government builds three bridges", "So far the plan achieved little";
- two verbs of one subject joined by and/but/or in different tenses ("people wait outside but
  did not pay attention"), unless a time word or a reporting verb explains the change;
- a time clause in the past hanging on a present main clause, or the reverse ("once we stepped
  out we are watched", "when I was young I like football").
Each span runs from the frame (or the first verb) to the verb at fault, so the quote shows both.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.providers.analysis.rules.text import wordset

_PRESENT = frozenset({"VBZ", "VBP"})
_NOW_WORDS = wordset("nowadays currently presently")
_NOW_PHRASES: tuple[tuple[str, ...], ...] = (
    ("these", "days"),
    ("at", "present"),
    ("in", "today", "'s", "world"),
)
_UP_TO_NOW: tuple[tuple[str, ...], ...] = (
    ("so", "far"),
    ("up", "to", "now"),
    ("until", "now"),
    ("till", "now"),
    ("up", "till", "now"),
)
_SPAN_UNITS = wordset("years decades months weeks centuries")
_YEAR = re.compile(r"(?:1[89]\d\d|20\d\d)$")
_TIME_CLAUSE_MARKS = wordset("when once after before whenever until")
# Past and present look alike: the tagger guesses.
_SAME_FORM = wordset("read put let set cut hit hurt cost quit spread shut bet cast upset")
_REPORTING = wordset("say tell think believe know feel report claim argue mean hope find realize realise")


def _finite(verb: Any) -> Any:
    """The finite word of ``verb``'s verb group: its first auxiliary, or the verb itself."""
    auxes = [c for c in verb.children if c.dep_ in ("aux", "auxpass") and c.i < verb.i]
    return auxes[0] if auxes else verb


def _perfect(verb: Any) -> bool:
    return any(c.dep_ == "aux" and c.lemma_ == "have" for c in verb.children) or (
        verb.lemma_ == "have" and verb.dep_ == "aux"
    )


def _matches(tokens: Any, i: int, phrase: tuple[str, ...]) -> bool:
    return i + len(phrase) <= len(tokens) and all(tokens[i + k].lower_ == w for k, w in enumerate(phrase))


def _clause_verb(token: Any) -> Any | None:
    node = token
    for _ in range(8):
        if node.pos_ in ("VERB", "AUX") and node.dep_ not in ("aux", "auxpass"):
            return node
        if node.head.i == node.i:
            return None
        node = node.head
    return None


def _frames(tokens: Any) -> list[tuple[str, int, int]]:
    """(kind, first, last) of each time frame phrase: kind 'now' or 'perfect'."""
    out = []
    for t in tokens:
        i = t.i
        low = t.lower_
        if low in _NOW_WORDS:
            out.append(("now", i, i))
        for phrase in _NOW_PHRASES:
            if _matches(tokens, i, phrase):
                out.append(("now", i, i + len(phrase) - 1))
        for phrase in _UP_TO_NOW:
            if _matches(tokens, i, phrase) and not (
                phrase[0] == "so" and i + 2 < len(tokens) and tokens[i + 2].lower_ == "as"
            ):
                out.append(("perfect", i, i + len(phrase) - 1))
        if low == "since" and t.dep_ == "prep":
            objects = [c for c in t.children if c.dep_ == "pobj"]
            if objects and (_YEAR.match(objects[0].text) or objects[0].lower_ in ("then", "childhood")):
                out.append(("perfect", i, objects[0].i))
        if low in ("for", "over", "in", "during") and i + 3 < len(tokens):
            nxt = [tokens[i + k].lower_ for k in range(1, 5) if i + k < len(tokens)]
            if (
                nxt[0] == "the"
                and nxt[1] in ("past", "last")
                and (
                    nxt[2] in _SPAN_UNITS
                    or (
                        len(nxt) > 3 and nxt[3] in _SPAN_UNITS and (tokens[i + 3].like_num or nxt[2] == "few")
                    )
                )
            ):
                out.append(("perfect", i, i + (3 if nxt[2] in _SPAN_UNITS else 4)))
            elif nxt[:2] == ["recent", "years"]:
                out.append(("perfect", i, i + 2))
    return out


def frame_errors(tokens: Any, *, punctuated: bool = True) -> list[tuple[int, int]]:
    """Verbs whose tense contradicts a present or up-to-now time frame in their clause.

    Without punctuation the frame must come before the verb, as in ``tense.marker_errors``.
    """
    found = []
    for kind, first, last in _frames(tokens):
        verb = _clause_verb(tokens[first])
        if verb is None:
            continue
        finite = _finite(verb)
        if finite.tag_ not in _PRESENT | {"VBD"} or finite.lower_ in (
            "were",
            "would",
            "could",
            "should",
            "might",
        ):
            continue
        if any(c.dep_ == "mark" for c in verb.children) and verb.dep_ == "advcl":
            continue  # "if it rained nowadays": a condition, not the frame's own verb
        if kind == "now":
            wrong = finite.tag_ == "VBD"
        else:
            progressive = verb.tag_ == "VBG" and finite.lemma_ == "be"
            wrong = not _perfect(verb) and not progressive and verb.lemma_ != "be"
        if not punctuated and first > finite.i:
            continue
        if wrong and abs(verb.i - first) <= 10:
            found.append((min(first, finite.i), max(last, verb.i)))
    return found


def _own_subject(verb: Any) -> bool:
    return any(c.dep_ in ("nsubj", "nsubjpass", "expl") for c in verb.children)


def _tense(verb: Any) -> str | None:
    finite = _finite(verb)
    if finite.lower_ in _SAME_FORM or not (finite.is_lower or finite.is_title):
        return None
    if finite.tag_ == "VBD" and finite.lower_ not in ("could", "would", "should", "might", "were"):
        return "past"
    if finite.tag_ in _PRESENT:
        return "present"
    return None


def mixed_tense(tokens: Any) -> list[tuple[int, int]]:
    """Two verbs of one subject, or a time clause and its main clause, in different tenses."""
    found = []
    for verb in tokens:
        if verb.pos_ not in ("VERB", "AUX"):
            continue
        head = verb.head
        if verb.dep_ == "conj" and not _own_subject(verb) and head.pos_ in ("VERB", "AUX"):
            pair = (head, verb)
        elif (
            verb.dep_ == "advcl"
            and head.pos_ in ("VERB", "AUX")
            and _own_subject(verb)
            and _own_subject(head)
        ):
            marks = [c for c in verb.children if c.dep_ in ("mark", "advmod") and c.i < verb.i]
            if not marks or marks[0].lower_ not in _TIME_CLAUSE_MARKS:
                continue
            pair = (head, verb)
        else:
            continue
        a, b = pair
        ta, tb = _tense(a), _tense(b)
        if ta is None or tb is None or ta == tb:
            continue
        past = a if ta == "past" else b
        bare = _finite(past).i == past.i  # no auxiliary: "distributed", not "did pay"
        if (
            bare
            and past.dep_ == "conj"
            and past.i + 1 < len(tokens)
            and tokens[past.i + 1].tag_ in ("NN", "NNS")
        ):
            continue  # "unevenly distributed wealth": a participle before its noun, not a verb
        if (a if ta == "present" else b).lemma_ == "be" or _perfect(a) or _perfect(b):
            continue  # "it is the day when I met her"; "I have been there and noticed"
        if (
            a.lemma_ in _REPORTING
            or b.lemma_ in _REPORTING
            or any(
                t.dep_ in ("npadvmod", "advmod")
                and t.lower_ in ("now", "then", "later", "today", "yesterday", "ago", "still")
                for t in tokens[min(a.i, b.i) : max(a.i, b.i) + 1]
            )
        ):
            continue
        lo, hi = min(a.i, b.i), max(a.i, b.i)
        if hi - lo <= 12:
            found.append((lo, hi))
    return found
