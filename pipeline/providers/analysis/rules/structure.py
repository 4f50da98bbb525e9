"""Sentence-structure rules of the offline analyzer.

They read sentence boundaries, so they only run on punctuated text (``Doc.punctuated``): on a raw
ASR transcript without full stops every "sentence" is the whole session, and judging its length
would report the recogniser's output format rather than the learner's speech.
"""

from __future__ import annotations

from collections import Counter

from pipeline.providers.analysis.rules.text import Doc, Finding, pick_examples

SHORT_WORDS = 6  # a sentence of fewer words counts as short
RUN_ON_WORDS = 40
_CHAIN_WORDS = frozenset({"and", "then", "so", "but"})


def short_simple_sentences(doc: Doc) -> Finding | None:
    if not doc.punctuated or len(doc.sentences) < 4:
        return None
    short = [s for s in doc.sentences if s.n_words < SHORT_WORDS]
    if len(short) < 4 or len(short) * 2 < len(doc.sentences):
        return None
    share = round(100 * len(short) / len(doc.sentences))
    return Finding(
        pattern_id="structure.short_simple_sentences",
        severity="low",
        frequency=len(short),
        examples=pick_examples((doc.sentence_text(s) for s in short), doc.text),
        detail=f"{len(short)} of {len(doc.sentences)} sentences ({share}%) have fewer than {SHORT_WORDS} words.",
        suggestion=(
            "Join pairs of short sentences with 'because', 'when', 'although' or 'which': "
            "'It was cold. We stayed home.' -> 'It was so cold that we stayed home.'"
        ),
        next_step="Join two short sentences into one with 'because', 'when' or 'which' at least three times.",
    )


def run_on_sentences(doc: Doc) -> Finding | None:
    if not doc.punctuated:
        return None
    long = []
    for s in doc.sentences:
        chained = sum(1 for w in doc.words[s.first_word : s.first_word + s.n_words] if w in _CHAIN_WORDS)
        if s.n_words >= RUN_ON_WORDS or (s.n_words >= 25 and chained >= 4):
            long.append(s)
    if not long:
        return None
    longest = max(s.n_words for s in long)
    return Finding(
        pattern_id="structure.run_on_sentences",
        severity="medium",
        frequency=len(long),
        examples=pick_examples((doc.sentence_text(s) for s in long), doc.text),
        detail=(
            f"{len(long)} very long sentences strung together with and/then/so "
            f"(the longest has {longest} words)."
        ),
        suggestion=(
            "Finish a sentence after each main event: stop, pause, and start the next one. "
            "Two or three clauses per sentence is plenty when speaking."
        ),
        next_step="Stop a sentence after each main event instead of adding 'and then'.",
    )


def repetitive_starters(doc: Doc) -> Finding | None:
    if not doc.punctuated or len(doc.sentences) < 5:
        return None
    starters = Counter(doc.words[s.first_word] for s in doc.sentences)
    word, count = min(starters.items(), key=lambda kv: (-kv[1], kv[0]))
    if count < 3 or count * 5 < len(doc.sentences) * 2:  # at least 3 and 40% of sentences
        return None
    same = [s for s in doc.sentences if doc.words[s.first_word] == word]
    return Finding(
        pattern_id="structure.repetitive_starters",
        severity="low",
        frequency=count,
        examples=pick_examples((doc.sentence_opening(s) for s in same), doc.text),
        detail=f"{count} of {len(doc.sentences)} sentences start with '{word}'.",
        suggestion=(
            f"Vary how sentences begin: open with a time ('In the afternoon, ...'), a place ('At the "
            f"market, ...') or a linking word ('After that, ...') instead of '{word}' every time."
        ),
        next_step=f"Start at least three sentences with a time or place phrase instead of '{word}'.",
    )
