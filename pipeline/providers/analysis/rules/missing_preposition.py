"""A preposition missing between a verb and what it is about, read from the parse: "listen music", "I agree you".

Some verbs never take a direct object: what they are about follows a preposition ("listen to
music", "wait for the bus", "agree with you", "talk to him", "arrive at the airport"). When the
parser reads a noun or pronoun straight after one of them as its object, the preposition is
missing. Time and measure phrases that look like objects ("wait a minute", "talk all day", "arrive
home") and the verb's other senses ("look the same", "agree that ...") are left alone.
"""

from __future__ import annotations

from typing import Any

from pipeline.providers.analysis.rules.text import wordset

#: Verbs whose object needs a preposition, with the one it takes (for the reader of this list).
NEEDS_PREPOSITION = {
    "listen": "to",
    "wait": "for",
    "agree": "with",
    "apologize": "to",
    "apologise": "to",
    "reply": "to",
    "respond": "to",
    "complain": "about",
    "arrive": "at",
    "belong": "to",
    "depend": "on",
    "rely": "on",
    "dream": "of",
    "laugh": "at",
    "object": "to",
    "consist": "of",
    "participate": "in",
    "graduate": "from",
    "concentrate": "on",
    "insist": "on",
    "cope": "with",
    "comply": "with",
    "contribute": "to",
    "succeed": "in",
}
# Objects that are really time, measure or manner: "wait a minute", "talk all night", "arrive home".
_NOT_AN_OBJECT = wordset(
    """minute minutes moment moments second seconds hour hours day days week weeks month months year
    years while time times night home way lot bit little much more nothing something anything
    everything all yes no"""
)


def missing_prepositions(tokens: Any) -> list[tuple[int, int]]:
    """(first, last) token indices from a verb to the object that needs a preposition before it."""
    found = []
    for obj in tokens:
        if obj.dep_ != "dobj" or obj.pos_ not in ("NOUN", "PRON", "PROPN"):
            continue
        verb = obj.head
        if verb.lemma_.lower() not in NEEDS_PREPOSITION or verb.pos_ != "VERB" or obj.i < verb.i:
            continue
        if obj.lower_ in _NOT_AN_OBJECT or obj.lemma_.lower() in _NOT_AN_OBJECT:
            continue
        if any(t.is_punct for t in tokens[verb.i + 1 : obj.i]) or obj.i - verb.i > 4:
            continue
        if any(c.dep_ in ("prt", "prep") and verb.i < c.i < obj.i for c in verb.children):
            continue
        if verb.lemma_.lower() == "contribute" and any(
            c.dep_ == "prep" and c.lower_ == "to" for c in verb.children
        ):
            continue  # "contribute money to charity": the object is what is given
        if obj.lower_ in ("what", "which", "who", "whom", "that", "this") and obj.i < verb.i + 2:
            continue  # "what I waited", "agree this" is too often "agree (on) this": left alone
        found.append((verb.i, obj.i))
    return found
