"""Subject-verb agreement read from the parse: the subject's number against the finite verb's form.

"my brother play", "the people is", "she don't", "technology have", "they was": the subject and its
verb may be words apart ("the price of the houses are") because the parser links them, not their
positions. Only clear cases are flagged: a singular subject is a singular common noun or he/she/it,
a plural one a plural common noun or we/they; a coordinated subject ("John and Mary"), a relative
pronoun, a quantity word ("one of", "a number of", "most"), a proper noun, a collective noun that
British English makes plural ("the government are"), a subjunctive ("if it were") or a verb the tagger
reads as a base form after a modal are left alone.
"""

from __future__ import annotations

from typing import Any

from pipeline.providers.analysis.rules.text import wordset

_SINGULAR_PRONOUNS = wordset("he she it")
_PLURAL_PRONOUNS = wordset("we they")
_SUBJECTS = frozenset({"nsubj", "nsubjpass"})
# Nouns whose number is not their verb's ("a number of people are", "the rest of them were").
_QUANTITY_NOUNS = wordset(
    """number lot lots majority minority rest half part percent percentage kind kinds type sort
    variety group couple pair series total amount plenty bunch range deal one none all some any
    most each either neither everyone everybody everything"""
)
# British English puts these with a plural verb ("the government are", "my family were").
_COLLECTIVE = wordset(
    """government family team staff police public committee company audience class crowd jury
    council management army board party majority media youth elderly people data"""
)
_SINGULAR_VERBS = wordset("is was has does")
_PLURAL_VERBS = wordset("are were have do")


def _finite(verb: Any) -> Any | None:
    """The finite verb of a clause headed by ``verb``: an auxiliary, or the verb itself."""
    auxes = [c for c in verb.children if c.dep_ in ("aux", "auxpass") and c.i < verb.i]
    if auxes:
        first = auxes[0]
        return None if first.tag_ == "MD" or first.lower_ == "to" else first
    return verb if verb.tag_ in ("VBZ", "VBP") or verb.lower_ in ("was", "were") else None


def _number(subject: Any) -> str | None:
    """'sg', 'pl' or None (unknown, or a case left alone)."""
    if any(c.dep_ == "conj" for c in subject.children) or any(c.dep_ == "cc" for c in subject.children):
        return None
    low = subject.lower_
    if low in _SINGULAR_PRONOUNS:
        return "sg"
    if low in _PLURAL_PRONOUNS:
        return "pl"
    if subject.tag_ not in ("NN", "NNS") or low in _QUANTITY_NOUNS or subject.lemma_ in _QUANTITY_NOUNS:
        return None
    if any(
        c.dep_ in ("nummod", "quantmod") or c.lower_ in ("all", "some", "most", "any")
        for c in subject.children
    ):
        return None
    if subject.tag_ == "NN" and (low in _COLLECTIVE or not subject.is_alpha):
        return None
    return "sg" if subject.tag_ == "NN" else "pl"


def _subjunctive(verb: Any) -> bool:
    """'if it were', 'as if he were', 'I suggest that he go': forms that look like disagreement."""
    clause = verb.head if verb.dep_ in ("aux", "auxpass") else verb
    return any(c.dep_ == "mark" and c.lower_ in ("if", "though", "whether") for c in clause.children) or (
        clause.dep_ == "ccomp"
        and clause.head.lemma_ in ("suggest", "insist", "demand", "recommend", "require")
    )


def agreement_errors(tokens: Any) -> list[tuple[int, int]]:
    """(first, last) token indices from the subject to its disagreeing finite verb."""
    found = []
    for subject in tokens:
        if subject.dep_ not in _SUBJECTS or subject.head.pos_ not in ("VERB", "AUX"):
            continue
        verb = _finite(subject.head)
        number = _number(subject)
        if verb is None or number is None or _subjunctive(verb):
            continue
        low, tag = verb.lower_, verb.tag_
        if number == "sg":
            wrong = low in _PLURAL_VERBS or (tag == "VBP" and low not in ("am",) and verb.is_alpha)
        else:
            wrong = low in _SINGULAR_VERBS or tag == "VBZ"
        edge = subject.left_edge
        before = tokens[edge.i - 1] if edge.i > 0 else None
        if number == "pl" and (edge.tag_ == "VBG" or (before is not None and before.tag_ == "VBG")):
            continue  # "tracking people is dangerous": the gerund is the subject, misread
        if (
            number == "sg"
            and tag == "VBP"
            and subject.tag_ == "NN"
            and verb.i == subject.i + 1
            and not any(c.dep_ in ("dobj", "ccomp", "xcomp", "attr", "acomp") for c in verb.children)
            and verb.i + 1 < len(tokens)
            and tokens[verb.i + 1].dep_ in ("prep", "agent")
        ):
            continue  # "the money spend on health", "life span rise from 45": a participle or past slip
        if wrong and abs(verb.i - subject.i) <= 12:
            found.append((min(subject.i, verb.i), max(subject.i, verb.i)))
    return found


def _be_number(verb: Any) -> str | None:
    low = verb.lower_
    return "sg" if low in ("is", "was") else "pl" if low in ("are", "were") else None


def there_be_errors(tokens: Any) -> list[tuple[int, int]]:
    """'there are some controversy', 'there is many reasons': "there" + be against the noun after it."""
    found = []
    for there in tokens:
        if there.lower_ != "there" or there.dep_ != "expl":
            continue
        verb = there.head
        number = _be_number(verb)
        if number is None or verb.i != there.i + 1:
            continue
        attrs = [c for c in verb.children if c.dep_ in ("attr", "nsubj") and c.i > verb.i]
        if not attrs:
            continue
        noun = attrs[0]
        if noun.i - verb.i > 4 or not noun.is_lower or not noun.is_alpha:
            continue
        if any(c.dep_ in ("conj", "cc") for c in noun.children):
            continue  # "there is a pen and two books": the first noun leads
        if noun.lower_ in _QUANTITY_NOUNS or noun.lemma_ in _QUANTITY_NOUNS:
            continue  # "there are a lot of", "there is a number of"
        if (
            any(c.like_num or c.lower_ in ("a", "an", "one") for c in noun.children if c.i < noun.i)
            and noun.tag_ == "NNS"
        ):
            continue  # "there is a 50 years gap", "there is one minutes left" is a number slip
        if (
            number == "pl"
            and noun.tag_ == "NN"
            and any(
                c.dep_ == "det" and c.lower_ in ("some", "no", "many", "several", "few", "these", "those")
                for c in noun.children
            )
        ) or (
            number == "sg" and noun.tag_ == "NNS" and not any(c.lower_ in ("a", "an") for c in noun.children)
        ):
            found.append((there.i, noun.i))
    return found


def relative_errors(tokens: Any) -> list[tuple[int, int]]:
    """'the one who carry', 'problems which is': a relative pronoun's verb against the noun it stands for."""
    found = []
    for rel in tokens:
        if rel.lower_ not in ("who", "which", "that") or rel.dep_ not in _SUBJECTS:
            continue
        clause = rel.head
        if clause.dep_ != "relcl" or rel.i > clause.i:
            continue
        verb = _finite(clause)
        antecedent = clause.head
        if verb is None or _subjunctive(verb) or verb.i - rel.i > 3:
            continue
        number = (
            "sg" if antecedent.lower_ in ("one", "someone", "anyone", "everyone") else _number(antecedent)
        )
        if number is None or antecedent.i != rel.i - 1 or not antecedent.is_lower:
            continue  # only "noun who/which": further away, the parser may pick the wrong noun
        if antecedent.head.lower_ == "of" and antecedent.head.head.lower_ in ("one", "some", "many", "most"):
            continue  # "one of the people who are"
        low, tag = verb.lower_, verb.tag_
        wrong = (
            low in _PLURAL_VERBS or (tag == "VBP" and verb.is_alpha and low != "am")
            if number == "sg"
            else low in _SINGULAR_VERBS or tag == "VBZ"
        )
        if wrong:
            found.append((antecedent.i, verb.i))
    return found
