"""Vocabulary rules of the offline analyzer: fillers, intensifiers, vague words, repetition, connectors.

Each detector is a pure function ``Doc -> Finding | None``. They are deliberately conservative:
a rule that cannot tell a filler "like" from the verb "like" should miss some fillers rather than
nag a learner about correct English, because the profile trends built on these counts are only
useful if a rising count means a real habit.
"""

from __future__ import annotations

import re
from collections import Counter

from pipeline.providers.analysis.rules.text import (
    Doc,
    Finding,
    breakdown,
    count_of,
    pick_examples,
    top,
    wordset,
)

STOPWORDS = wordset(
    """a about above after again all also am an and any are as at be because been before being but
    by can could did do does doing don't down during each even every few for from get got had has
    have having he her here hers him his how i i'm if in into is it it's its just let me more most
    much my myself no nor not now of off on once one only or other our out over own really same she
    should so some such than that that's the their them then there these they this those through
    to too under until up very was we went were what when where which while who whom why will with
    would you your yeah okay ok oh well go going get getting like know mean think um uh"""
)


# --- filler words ---------------------------------------------------------------------------------
_HESITATION = re.compile(r"u+h*m+|e+r+m*|h+m+|u+h+")  # um umm uhm er erm hmm uh uhh
_SINGLE_FILLERS = wordset("basically actually literally kinda sorta")
_PAIR_FILLERS = {
    ("you", "know"): "you know",
    ("i", "mean"): "i mean",
    ("kind", "of"): "kind of",
    ("sort", "of"): "sort of",
}
_NOT_FILLER_AFTER = {  # the word before a pair that makes it literal: "do you know", "what kind of"
    "you know": wordset("do did don't didn't if as would will can could should let what how that"),
    "i mean": wordset("what that which if"),
    "kind of": wordset(
        """a an the this that these those what which some any every one all same different other
        another new my your his her our their its no"""
    ),
}
_NOT_FILLER_AFTER["sort of"] = _NOT_FILLER_AFTER["kind of"]
_YOU_KNOW_OBJECTS = wordset("him her it them me us that this how what where why who when the a about my")
_APPROXIMATE_BEFORE = wordset("for took takes take about around was were is are maybe")
_NUMBER = re.compile(
    r"\d|(?:one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|fifty|a hundred)\b"
)


def _hesitation(word: str) -> str | None:
    if word and len(word) <= 6 and word[0] in "ueh" and _HESITATION.fullmatch(word):
        return "um" if word.endswith("m") else "uh"
    return None


def _is_filler_like(doc: Doc, i: int) -> bool:
    """'like' as a filler: between commas, next to a hesitation or another 'like', or '... like five'."""
    before, after = doc.word(i - 1), doc.word(i + 1)
    comma_before = i > 0 and doc.low[doc.ends[i - 1] : doc.starts[i]].strip() == ","
    comma_after = doc.low[doc.ends[i] : doc.ends[i] + 1] == ","
    if (comma_before and comma_after) or _hesitation(before) or _hesitation(after) or before == "like":
        return True
    if before in ("was", "were", "is") and comma_after:  # quotative "she was like, ..."
        return True
    return before in _APPROXIMATE_BEFORE and bool(_NUMBER.match(doc.low, doc.ends[i] + 1))


def filler_spans(doc: Doc) -> tuple[Counter[str], list[tuple[int, int]]]:
    """Fillers by kind, and their character spans: the parser reads the transcript without them."""
    counts: Counter[str] = Counter()
    spans: list[tuple[int, int]] = []
    words = doc.words
    for i, w in enumerate(words):
        kind, last = _hesitation(w) or (w if w in _SINGLE_FILLERS else None), i
        if kind is None and w == "like" and _is_filler_like(doc, i):
            kind = "like"
        elif kind is None and (w, doc.word(i + 1)) in _PAIR_FILLERS and doc.adjacent(i):
            kind, last = _PAIR_FILLERS[(w, words[i + 1])], i + 1
            if doc.word(i - 1) in _NOT_FILLER_AFTER[kind] or (
                kind == "you know"
                and doc.low[doc.ends[last] : doc.ends[last] + 1] != ","
                and doc.word(last + 1) in _YOU_KNOW_OBJECTS
            ):
                continue
        if kind is not None:
            counts[kind] += 1
            spans.append((doc.starts[i], doc.ends[last]))
    return counts, spans


def filler_words(doc: Doc) -> Finding | None:
    counts, spans = filler_spans(doc)
    total = sum(counts.values())
    if total < 2:
        return None
    rate = doc.per_100_words(total)
    named = " or ".join(f"'{k}'" for k in top(counts))
    return Finding(
        pattern_id="vocabulary.filler_words",
        severity="high" if rate >= 6 else "medium" if rate >= 3 else "low",
        frequency=total,
        examples=pick_examples((doc.window(a, b) for a, b in spans), doc.text),
        detail=f"{total} filler words ({rate:.1f} per 100 words): {breakdown(counts)}.",
        suggestion=(
            f"When you feel {named} coming, stop and take a short silent breath instead, then say the next "
            "phrase. A pause sounds calm and confident; a filler sounds unsure."
        ),
        next_step=f"Replace {named} with a silent pause: aim for half as many fillers as this session.",
    )


# --- overused intensifiers --------------------------------------------------------------------------
_ADJECTIVES = wordset(
    """good bad nice happy sad tired big small beautiful hot cold fun funny boring interesting
    delicious excited exciting busy expensive cheap hard easy difficult great important crowded
    late early long short fast slow much many angry amazing awesome cool cute friendly kind
    lovely terrible horrible scared nervous relaxing relaxed tasty full far close old new young
    strong weak quiet loud"""
)
_INTENSIFIERS = frozenset({"very", "really", "totally", "extremely"})
_BEFORE_ADJECTIVE_ONLY = frozenset({"so", "super"})  # "so I went", "super market" are not intensifiers


def overused_intensifiers(doc: Doc) -> Finding | None:
    counts: Counter[str] = Counter()
    spans: list[tuple[int, int]] = []
    doubled: list[tuple[int, int]] = []
    for i, w in enumerate(doc.words):
        if w in _INTENSIFIERS or (w in _BEFORE_ADJECTIVE_ONLY and doc.word(i + 1) in _ADJECTIVES):
            counts[w] += 1
            if w in ("very", "really") and doc.word(i + 1) == w and doc.adjacent(i, allow_comma=True):
                doubled.append((doc.starts[i], doc.ends[i + 1]))
            elif not (doubled and doubled[-1][1] == doc.ends[i]):  # second word of a doubled pair
                spans.append((doc.starts[i], doc.ends[i]))
    total = sum(counts.values())
    rate = doc.per_100_words(total)
    if total < 2 or (not doubled and (total < 3 or rate < 1.5)):
        return None
    extra = f", including {len(doubled)} doubled ('very very')" if doubled else ""
    return Finding(
        pattern_id="vocabulary.overused_intensifiers",
        severity="medium" if doubled or rate >= 3 else "low",
        frequency=total,
        examples=pick_examples((doc.window(a, b, 2) for a, b in doubled + spans), doc.text),
        detail=f"{total} intensifiers ({rate:.1f} per 100 words): {breakdown(counts)}{extra}.",
        suggestion=(
            "Swap 'very + adjective' for one stronger word: very good -> excellent, very tired -> "
            "exhausted, very big -> huge, very happy -> delighted, very bad -> awful."
        ),
        next_step="Replace each 'very' or 'really' with one precise adjective (very tired -> exhausted).",
    )


# --- vague words ------------------------------------------------------------------------------------
_VAGUE = wordset("thing things stuff something nice good bad")


def vague_words(doc: Doc) -> Finding | None:
    counts: Counter[str] = Counter()
    spans: list[tuple[int, int]] = []
    for i, w in enumerate(doc.words):
        a_lot = w == "a" and doc.word(i + 1) == "lot" and doc.adjacent(i)
        if w in _VAGUE or a_lot:
            counts["a lot" if a_lot else w] += 1
            spans.append((doc.starts[i], doc.ends[i + 1 if a_lot else i]))
    total = sum(counts.values())
    if total < 4 or doc.per_100_words(total) < 2:
        return None
    return Finding(
        pattern_id="vocabulary.vague_words",
        severity="low",
        frequency=total,
        examples=pick_examples((doc.window(a, b) for a, b in spans), doc.text),
        detail=f"{total} general-purpose words that say little: {breakdown(counts)}.",
        suggestion=(
            "Say what made it so: instead of 'nice' or 'good' use a precise word (relaxing, delicious, "
            "well organised); instead of 'thing' or 'stuff' name the object or activity."
        ),
        next_step="Each time you say 'nice', 'good' or 'thing', add or swap in one precise word.",
    )


# --- repetition -------------------------------------------------------------------------------------
_LEGIT_DOUBLES = wordset("very really so that had bye ha no yes um uh er hmm like")  # others count these
_OVERUSE_MIN, _OVERUSE_SHARE = 5, 0.03
_COVERED_ELSEWHERE = wordset("thing things stuff something nice good bad lot basically actually literally")


def repetition(doc: Doc) -> Finding | None:
    """Back-to-back restarts ("I I went") plus content words used in >= 3% of all words."""
    words, starts, ends = doc.words, doc.starts, doc.ends
    restarts = [
        (starts[i], ends[i + 1])
        for i in range(len(words) - 1)
        if words[i] == words[i + 1] and words[i] not in _LEGIT_DOUBLES and doc.adjacent(i, allow_comma=True)
    ]
    counts = Counter(
        w for w in doc.words if len(w) >= 4 and w not in STOPWORDS and w not in _COVERED_ELSEWHERE
    )
    overused = {w: n for w, n in counts.items() if n >= _OVERUSE_MIN and n >= _OVERUSE_SHARE * doc.word_count}
    total = len(restarts) + sum(overused.values())
    if total < 2:
        return None
    candidates = [doc.window(a, b, 2) for a, b in restarts]
    for word in top(Counter(overused), 3):
        positions = [doc.starts[i] for i, w in enumerate(doc.words) if w == word]
        pairs = [(a, b) for a, b in zip(positions, positions[1:], strict=False) if b - a <= 100]
        a, b = pairs[0] if pairs else (positions[0], positions[0])
        candidates.append(doc.window(a, b + len(word), 0 if pairs else 3))
    parts = []
    if restarts:
        parts.append(f"{len(restarts)} immediate repetitions (restarting on the same word)")
    if overused:
        parts.append(f"heavily reused words: {breakdown(Counter(overused))}")
    return Finding(
        pattern_id="vocabulary.repetition",
        severity="low",
        frequency=total,
        examples=pick_examples(candidates, doc.text),
        detail="; ".join(parts) + ".",
        suggestion=(
            "When you restart a phrase, pause instead of repeating the word. For a word you keep "
            "reusing, prepare two alternatives (a synonym or a pronoun such as 'it' or 'there')."
        ),
        next_step="Prepare two synonyms for your most repeated word and pause instead of restarting.",
    )


# --- limited connectors -----------------------------------------------------------------------------
_BASIC_LINK = re.compile(
    r"(?:and\s+then|then|but|and(?=\s+(?:i|we|they|he|she|it|you|my|our|his|her|their|there|after)\b))\b"
)
_VARIED_LINK = re.compile(
    r"(?:however|because|although|even\s+though|though|so\s+that|therefore|while|whereas|since|unless"
    r"|instead|after\s+that|afterwards|finally|firstly|first\s+of\s+all|besides|moreover|as\s+a\s+result"
    r"|for\s+example|for\s+instance|in\s+the\s+end|on\s+the\s+other\s+hand|meanwhile|as\s+soon\s+as"
    r"|in\s+addition|later|otherwise|(?:so|when)(?=\s+(?:i|we|they|he|she|it|you|my|the)\b))\b"
)


def limited_connectors(doc: Doc) -> Finding | None:
    basic = list(doc.find(_BASIC_LINK))
    varied = Counter(" ".join(m.group().split()) for m in doc.find(_VARIED_LINK))
    n_varied = sum(varied.values())
    if len(basic) < 6 or doc.per_100_words(len(basic)) < 3 or n_varied * 3 >= len(basic) or len(varied) > 2:
        return None
    counts = Counter(" ".join(m.group().split()) for m in basic)
    others = (
        f"only {count_of(n_varied, 'other linking word')} ({breakdown(varied)})"
        if varied
        else "no other linking words"
    )
    return Finding(
        pattern_id="vocabulary.limited_connectors",
        severity="medium" if not varied and len(basic) >= 10 else "low",
        frequency=len(basic),
        examples=pick_examples((doc.window(m.start(), m.end()) for m in basic), doc.text),
        detail=f"Ideas were linked with and/then/but {len(basic)} times ({breakdown(counts)}) and {others}.",
        suggestion=(
            "Vary how you link ideas: 'after that' or 'later' for sequence, 'because' or 'so' for "
            "reasons, 'however' or 'although' for contrast."
        ),
        next_step="Use at least three different linking words, e.g. 'after that', 'because', 'however'.",
    )
