"""Prepositions read from the parse: the wrong or an extra preposition after a word that governs its own.

"discuss about the problem", "depend of", "interested about", "the effect to", "on 2010", "in
Monday". The parser links a preposition to the word it belongs to, however far apart ("depends
very much of"), and the lexicon below says what that word takes: verbs that take a direct object
and no preposition (``NO_PREPOSITION``), and words whose complement preposition is fixed
(``GOVERNED``: "interested in", "depend on", "effect on"). A preposition not listed for its head
is flagged only when the head's listed ones cover its common uses, so "agree with/on/to" or "think
of/about" are listed in full. Time phrases: a year or month takes "in", a day "on".
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.providers.analysis.rules.text import wordset

#: Verbs that take a direct object: a preposition straight after them is extra ("discuss about it").
NO_PREPOSITION = {
    "discuss": {"about", "on"},
    "emphasize": {"on", "about"},
    "emphasise": {"on", "about"},
    "stress": {"on"},
    "mention": {"about"},
    "describe": {"about"},
    "reach": {"to", "at"},
    "approach": {"to"},
    "contact": {"to", "with"},
    "marry": {"with"},
    "resemble": {"to", "with"},
    "obey": {"to"},
    "accompany": {"with"},
    "consider": {"about"},
    "affect": {"on", "to"},
    "attend": {"at", "in"},
    "enter": {"to", "in"},
    "lack": {"of"},
    "visit": {"to"},
    "answer": {"to"},
    "join": {"to", "with"},
    "request": {"for"},
    "order": {"for"},
    "investigate": {"about"},
    "study": {"about"},
    "explain": {"about"},
    "criticize": {"about"},
    "criticise": {"about"},
    "invade": {"into"},
    "comprise": {"of"},
    "encounter": {"with"},
    "penetrate": {"into"},
    "oppose": {"to"},
    "violate": {"against"},
    "inhabit": {"in"},
    "regret": {"for", "about"},
    # since rules-v6: verbs learners give a preposition their object does not take
    "seek": {"for"},
    "contradict": {"with"},
    "access": {"to"},
    "influence": {"on", "to"},
    "cause": {"to"},
    "harm": {"to"},
    "damage": {"to"},
    "stalk": {"on"},
    "monitor": {"on", "over"},
    "track": {"on"},
}
#: Heads whose complement preposition is fixed, with the prepositions they take.
GOVERNED = {
    # verbs
    "depend": {"on", "upon"},
    "rely": {"on", "upon"},
    "focus": {"on", "upon"},
    "concentrate": {"on", "upon"},
    "insist": {"on", "upon"},
    "consist": {"of", "in"},
    "contribute": {"to", "towards", "toward"},
    "suffer": {"from"},
    "benefit": {"from", "by", "to", "for", "of"},
    "listen": {"to", "for"},
    "belong": {"to"},
    "lead": {"to", "by", "into", "in", "through", "with"},
    "result": {"in", "from"},
    "succeed": {"in"},
    "participate": {"in"},
    "specialize": {"in"},
    "specialise": {"in"},
    "arrive": {"at", "in", "on", "by", "from", "with", "after", "before", "for", "home", "late", "early"},
    "comply": {"with"},
    "cope": {"with"},
    "deal": {"with", "in"},
    "apologize": {"for", "to"},
    "apologise": {"for", "to"},
    "wait": {
        "for",
        "in",
        "at",
        "on",
        "until",
        "till",
        "outside",
        "with",
        "by",
        "around",
        "about",
        "from",
        "near",
        "inside",
        "behind",
    },
    "prevent": {"from"},
    "refer": {"to"},
    "respond": {"to", "with", "by"},
    "invest": {"in", "into", "for", "with", "from", "at", "by"},
    # adjectives
    "interested": {"in"},
    "aware": {"of"},
    "capable": {"of"},
    "responsible": {"for", "to"},
    "similar": {"to", "in"},
    "dependent": {"on", "upon"},
    "afraid": {"of", "for"},
    "proud": {"of"},
    "famous": {"for", "in", "as", "among", "around", "throughout", "all"},
    "addicted": {"to"},
    "related": {"to"},
    "married": {"to", "in", "for", "at", "with"},
    "fond": {"of"},
    "keen": {"on", "to"},
    "full": {"of"},
    "tired": {"of", "from", "after"},
    "satisfied": {"with", "by"},
    "different": {"from", "to", "than", "in"},
    "familiar": {"with", "to"},
    "good": {"at", "for", "to", "in", "with", "about", "as", "enough", "on"},
    "excited": {"about", "by", "for", "at"},
    "disappointed": {"with", "by", "in", "about", "at"},
    "accustomed": {"to"},
    "harmful": {"to", "for", "in"},
    "beneficial": {"to", "for", "in"},
    "compatible": {"with"},
    "consistent": {"with", "in"},
    "superior": {"to", "in"},
    "inferior": {"to", "in"},
    "involved": {"in", "with"},
    "exposed": {"to", "by", "through"},
    "prior": {"to"},
    "contrary": {"to"},
    "devoted": {"to"},
    "jealous": {"of"},
    "ashamed": {"of"},
    "suitable": {"for", "to", "as", "in"},
    # since rules-v6: adjectives whose wrong preposition learners often choose ("able of", "worried on")
    "able": {"to", "in", "at", "with", "for", "on", "from", "about"},
    "concerned": {"about", "with", "for", "by", "over", "in", "at", "that"},
    "worried": {"about", "by", "for", "over", "at", "that"},
    "useful": {"for", "to", "in", "as", "at", "on", "with", "from"},
    "necessary": {"for", "to", "in", "as", "at", "on", "with", "from"},
    "confident": {"in", "of", "about", "with", "at", "on", "for"},
    "conscious": {"of", "about", "in"},
    "vulnerable": {"to", "in", "for", "at", "from", "on", "with"},
    # nouns
    "effect": {"on", "of", "upon", "in", "for"},
    "impact": {"on", "of", "upon", "in", "for"},
    "influence": {"on", "of", "over", "upon", "in", "with", "from"},
    "reason": {"for", "why", "behind"},
    "solution": {"to", "for", "of"},
    "key": {"to", "for", "of", "in"},
    "access": {"to", "for"},
    "increase": {"in", "of", "by", "to", "from", "for"},
    "decrease": {"in", "of", "by", "to", "from"},
    "demand": {"for", "of", "from", "on", "in"},
    "attention": {"to", "of", "from", "in", "on"},
    "threat": {"to", "of", "from", "for"},
    "damage": {"to", "of", "from", "by", "in"},
    "emphasis": {"on", "of", "in"},
    "interest": {"in", "of", "for", "to", "from", "on", "among"},
}
# Entries above that are nouns only: as verbs they take other prepositions ("increasing at 2%").
_NOUN_ONLY = wordset(
    "effect impact influence reason solution key access increase decrease demand attention threat damage emphasis interest"
)
_YEAR = re.compile(r"(?:1[5-9]|20)\d\d$")
_MONTHS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
_DAYS = frozenset(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])


def _time_error(prep: Any) -> bool:
    """'on 2010', 'at 1999', 'on May', 'in Monday', 'at Sunday'."""
    objects = [c for c in prep.children if c.dep_ == "pobj"]
    if not objects or any(c.dep_ == "det" for c in objects[0].children):
        return False
    word, low = objects[0], objects[0].lower_
    if _YEAR.match(word.text) and prep.lower_ in ("on", "at"):
        return True
    if (
        low in _MONTHS
        and word.text[:1].isupper()
        and prep.lower_ in ("on", "at")
        and not any(c.like_num for c in word.children)
    ):
        return True
    return low in _DAYS and word.text[:1].isupper() and prep.lower_ in ("in", "at")


def _adjacent(head: Any, prep: Any) -> bool:
    """The preposition follows its head directly, or after adverbs only ("depends very much on")."""
    between = head.doc[head.i + 1 : prep.i]
    return prep.i > head.i and all(t.pos_ == "ADV" for t in between) and len(between) <= 2


def preposition_errors(tokens: Any) -> list[tuple[int, int]]:
    """(first, last) token indices from the governing word to its wrong preposition."""
    found = []
    for prep in tokens:
        if prep.dep_ != "prep" or prep.tag_ != "IN" or not prep.is_lower:
            continue
        head = prep.head
        lemma = head.lemma_.lower()
        wrong = False
        if _time_error(prep):
            found.append((prep.i, max(c.i for c in prep.children if c.dep_ == "pobj")))
            continue
        if not _adjacent(head, prep) or prep.nbor(-1).lower_ == "face":
            continue
        if head.pos_ == "VERB" and prep.lower_ in NO_PREPOSITION.get(lemma, ()):
            # "is comprised of", "opposed to": a passive or an adjective takes the preposition.
            passive = head.tag_ == "VBN" and (
                head.dep_ in ("amod", "acl", "acomp") or any(c.dep_ == "auxpass" for c in head.children)
            )
            wrong = not passive and not any(c.dep_ in ("dobj", "prt") and c.i < prep.i for c in head.children)
        elif (
            lemma in GOVERNED
            and prep.lower_ not in GOVERNED[lemma]
            and (head.pos_ == "NOUN") == (lemma in _NOUN_ONLY)
            and head.lower_ not in ("best", "better")
        ):
            wrong = head.pos_ in ("VERB", "ADJ", "NOUN") and prep.lower_ in (
                "of",
                "to",
                "in",
                "on",
                "at",
                "about",
                "for",
                "with",
                "from",
            )
            if head.pos_ == "NOUN" and prep.lower_ not in ("to", "about", "at"):
                wrong = False  # "the effect of", "reason of" vary too much to judge
            if head.pos_ == "VERB" and head.tag_ == "VBN" and prep.lower_ in ("in", "by", "with"):
                wrong = False  # a passive or an adjective: "concentrated in", "focused by"
        if wrong:
            found.append((min(head.i, prep.i), max(head.i, prep.i)))
    return found
