"""A present-tense action verb inside a story told in the past, read from the parse.

"We arrived at nine. The guide takes us to the castle and we saw the towers." With no time word
in its clause, the verb's neighbours tell its time: when the sentences around it narrate in the
past (``tense.past_narrative``: three past verbs or more and no other present one), a present
action verb with its own subject has slipped out of the story. Left alone: states that may hold
now ("I think it was", "I still remember", "the castle is old"), verbs in reported speech or in
quotation marks, and unpunctuated ASR text, whose sentences the parser cannot tell apart.
"""

from __future__ import annotations

from typing import Any

from pipeline.providers.analysis.rules.tense import past_narrative
from pipeline.providers.analysis.rules.text import wordset

# Verbs whose present is as often about now as in the story: "I think", "it is", "I remember".
_STATIVE = wordset(
    """be have think know believe remember hope want like love hate need seem mean feel guess
    wish understand suppose forget prefer agree realize realise recommend suggest"""
)
_SUBJECTS = frozenset({"nsubj", "nsubjpass"})


def narrative_slips(tokens: Any) -> list[tuple[int, int]]:
    """(first, last) token indices from the subject to a present action verb in a past story."""
    found = []
    for verb in tokens:
        if verb.tag_ not in ("VBP", "VBZ") or verb.pos_ != "VERB" or verb.lemma_.lower() in _STATIVE:
            continue
        if verb.dep_ not in ("ROOT", "conj") or any(c.dep_ in ("aux", "auxpass") for c in verb.children):
            continue
        subjects = [c for c in verb.children if c.dep_ in _SUBJECTS and c.i < verb.i]
        if not subjects or subjects[0].lower_ in ("you", "it", "this", "that", "which", "what"):
            continue  # "you know", "it says": talk to the reader, not the story
        sent = verb.sent
        if any(t.text in ('"', "“", "”", "'") for t in sent):
            continue
        if past_narrative(tokens, verb.i):
            found.append((subjects[0].i, verb.i))
    return found
