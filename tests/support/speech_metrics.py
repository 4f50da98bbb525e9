"""Word error rate and kept learner errors, for the speech-to-text tests and bench (no dependency)."""

from __future__ import annotations

import json
import re
from pathlib import Path

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
FILLERS = ("um", "uh")
_NUMBERS = {"1": "one", "2": "two", "3": "three", "4": "four", "5": "five"}


def references() -> dict[str, dict]:
    """``references.json``: per recording its spoken text, voice, speed and planted errors."""
    return json.loads((AUDIO / "references.json").read_text())


def words(text: str) -> list[str]:
    """Lower-case words without punctuation (apostrophes kept: "don't" is one word); digits spelled."""
    tokens = re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))
    return [_NUMBERS.get(t, t) for t in tokens]


def wer(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by word-level edit distance."""
    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        return float(len(hyp) > 0)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1] / len(ref)


def kept(errors: list[str], hypothesis: str) -> int:
    """How many planted errors appear verbatim (as a run of words) in ``hypothesis``."""
    padded = f" {' '.join(words(hypothesis))} "
    return sum(f" {' '.join(words(error))} " in padded for error in errors)


def fillers(text: str) -> int:
    return sum(w in FILLERS for w in words(text))
