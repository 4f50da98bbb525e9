"""Word order read from the parse: questions inside statements, and adverbs before a modal.

- an embedded question keeps the order of a statement: "they can find out where are their kids"
  (where their kids are), "no matter how many systems are there" (there are), "I don't know what is
  it". Flagged when a wh-word opens a clause that is not the sentence's own question (the sentence
  does not end in "?" and the clause is not its main one) and the verb comes before its subject;
- a mid-position adverb before a modal instead of after it: "this also can be used" (can also be),
  "we only can hope" (can only). "just can't", "really can", "still could" and "never can" are
  natural and left alone.
Without punctuation the first rule stays silent: a question and the statement after it run together.
"""

from __future__ import annotations

from typing import Any

from pipeline.providers.analysis.rules.text import wordset

_WH = wordset("what where when who how why which whom")
_AFTER_MODAL = wordset("also always often usually already only")
_MODALS = wordset("can could will would may might must should shall")


def embedded_questions(tokens: Any, *, punctuated: bool = True) -> list[tuple[int, int]]:
    """(first, last) token indices from the wh-word to the subject that follows its verb."""
    if not punctuated:
        return []
    found = []
    for verb in tokens:
        if verb.pos_ not in ("AUX", "VERB") or verb.dep_ in ("ROOT", "aux", "auxpass", "relcl", "conj"):
            continue
        if verb.lemma_ != "be" or verb.tag_ not in ("VBZ", "VBP", "VBD"):
            continue  # "where do they live" inside a sentence is rarer and parses badly
        sent = verb.sent
        if sent[-1].text == "?" or any(t.text == "?" for t in sent):
            continue
        wh = [c for c in verb.children if c.lower_ in _WH and c.i < verb.i]
        wh += [
            t
            for t in tokens[max(sent.start, verb.i - 3) : verb.i]
            if t.lower_ in _WH and t.i not in {w.i for w in wh}
        ]
        subjects = [c for c in verb.children if c.dep_ in ("nsubj", "expl") and c.i > verb.i]
        if not wh or not subjects:
            continue
        first = min(w.i for w in wh)
        if first == sent.start or verb.i - first > 3:
            continue  # a question opening the sentence ("What is it? ..." without its "?")
        subject = subjects[0]
        if subject.lower_ in ("what", "which", "who") or subject.i - verb.i > 4:
            continue
        if any(c.dep_ in ("attr", "acomp") and c.i < verb.i for c in verb.children):
            continue  # "how important is it" in an exclamation, or a fronted complement
        found.append((first, subject.i))
    return found


def adverb_before_modal(tokens: Any) -> list[tuple[int, int]]:
    """'also can be', 'only can hope': a mid-position adverb straight before a modal and its verb."""
    found = []
    for adv in tokens:
        if adv.lower_ not in _AFTER_MODAL or adv.i + 2 >= len(tokens):
            continue
        modal, verb = tokens[adv.i + 1], tokens[adv.i + 2]
        if modal.lower_ not in _MODALS or modal.tag_ != "MD" or verb.tag_ != "VB":
            continue
        before = tokens[adv.i - 1] if adv.i > 0 else None
        if before is None or before.is_punct or before.is_sent_start:
            continue  # "Also, can ..." or a sentence opening "Only can ..." is another construction
        if before.tag_ in ("MD", "CC") or before.lower_ in ("not", "and", "or", "but"):
            continue
        found.append((adv.i, verb.i))
    return found
