"""Verb tense read from the parse: a present form against a past time frame, or the wrong tense after a time word.

Three rules, each anchored on a time signal that the parser ties to the verb:
- a past-time adverbial in the verb's own clause ("yesterday", "last week", "two years ago",
  "in 2010", "when I was young") with a present verb ("yesterday I go") or a present perfect ("I
  have seen him yesterday");
- "will" inside a time or condition clause ("when I will arrive", "if it will rain");
- and ``past_narrative`` tells the agreement rule that "then he forgive him" inside a story told in
  the past (three past verbs around it, no present one) is a tense slip, not agreement, so it is
  left out of agreement. Flagging every present verb in a past narrative was measured and dropped:
  on the development essays only 16 % of those flags were real tense errors (reported speech,
  general truths and "I think" are present in a past story).
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.providers.analysis.rules.text import wordset

_PAST_WORDS = wordset("yesterday ago")
_PAST_MODIFIED = wordset("last")  # last week, last year
_PERIODS = wordset(
    """night week weekend month year summer winter spring autumn fall time monday tuesday wednesday
    thursday friday saturday sunday morning evening"""
)
_YEAR = re.compile(r"(?:1[89]\d\d|200\d|201[0-5])$")
_TIME_MARKS = wordset("when if until before after once unless")
_PRESENT_TAGS = frozenset({"VBP", "VBZ"})
_PAST_TAGS = frozenset({"VBD"})


def _clause(token: Any) -> Any:
    """The verb heading the clause that ``token`` belongs to."""
    node = token
    while node.pos_ not in ("VERB", "AUX") and node.head.i != node.i:
        node = node.head
    return node


def _past_marker(verb: Any) -> Any | None:
    """A past-time adverbial attached to ``verb``'s clause, or None."""
    for child in verb.children:
        if child.dep_ not in ("npadvmod", "advmod", "prep", "advcl"):
            continue
        words = [t for t in child.subtree]
        lows = {t.lower_ for t in words}
        if child.lower_ == "yesterday" or (lows & _PAST_WORDS and child.dep_ != "advcl"):
            return child
        if child.lower_ in _PERIODS and any(c.lower_ in _PAST_MODIFIED for c in child.children):
            return child
        if child.dep_ == "prep" and child.lower_ == "in" and any(_YEAR.match(t.text) for t in words):
            return child
        if (
            child.dep_ == "advcl"
            and any(c.lower_ == "when" for c in child.children)
            and child.tag_ in _PAST_TAGS
            and child.lemma_ == "be"
        ):
            return child
    return None


def _present_finite(verb: Any) -> Any | None:
    auxes = [c for c in verb.children if c.dep_ in ("aux", "auxpass") and c.i < verb.i]
    if auxes:
        return (
            auxes[0] if auxes[0].tag_ in _PRESENT_TAGS and auxes[0].lemma_ in ("have", "do", "be") else None
        )
    return verb if verb.tag_ in _PRESENT_TAGS else None


def marker_errors(tokens: Any, *, punctuated: bool = True) -> list[tuple[int, int]]:
    """Present (or present perfect) verbs in a clause with a past-time adverbial.

    Without punctuation (raw ASR) the parser cannot tell which clause a trailing "last year" closes
    ("it is out of date last year I studied"), so there the time word must come first ("yesterday I go").
    """
    found = []
    for verb in tokens:
        if verb.pos_ not in ("VERB", "AUX") or verb.dep_ in ("aux", "auxpass"):
            continue
        finite = _present_finite(verb)
        if finite is None or any(c.dep_ == "mark" and c.lower_ == "since" for c in verb.children):
            continue
        marker = _past_marker(verb)
        if marker is None or any(t.lower_ in ("since", "for", "every", "this") for t in marker.subtree):
            continue
        if not punctuated and marker.i > finite.i:
            continue
        if not any(c.dep_ in ("nsubj", "nsubjpass", "expl") for c in verb.children):
            continue
        first = min(finite.i, marker.left_edge.i)
        last = max(finite.i, marker.right_edge.i)
        if last - first <= 10:
            found.append((first, last))
    return found


def will_in_time_clause(tokens: Any) -> list[tuple[int, int]]:
    """'when I will arrive', 'if it will rain': future 'will' inside a time or condition clause."""
    found = []
    for verb in tokens:
        if verb.dep_ != "advcl":
            continue
        marks = [
            c
            for c in verb.children
            if c.dep_ in ("mark", "advmod") and c.lower_ in _TIME_MARKS and c.i < verb.i
        ]
        will = [c for c in verb.children if c.dep_ == "aux" and c.lower_ in ("will", "'ll") and c.i < verb.i]
        if marks and will and marks[0].i < will[0].i and verb.i - marks[0].i <= 8:
            found.append((will[0].i, verb.i))
    return found


def past_narrative(tokens: Any, index: int) -> bool:
    """Whether the sentence of token ``index`` and its neighbours narrate in the past."""
    sents = list(tokens.sents) if not hasattr(tokens, "_sents") else tokens._sents
    for k, sent in enumerate(sents):
        if sent.start <= index < sent.end:
            around = sents[max(k - 1, 0) : k + 2]
            break
    else:
        return False
    past = present = 0
    for sent in around:
        for t in sent:
            if t.i == index or t.dep_ in ("aux", "auxpass") and t.head.i == index:
                continue
            if t.tag_ == "VBD":
                past += 1
            elif t.tag_ in _PRESENT_TAGS and t.dep_ not in ("relcl", "ccomp"):
                present += 1
    return past >= 3 and present == 0
