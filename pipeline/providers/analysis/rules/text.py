"""Text plumbing for the rule-based analyzer: words, sentences and verbatim evidence windows.

Kept apart from the detectors so each detector reads as a rule, and so the guarantee users rely
on (every example is an exact substring of the transcript) is produced in one place: examples
are always slices ``text[a:b]`` of the original, never rebuilt from normalised tokens.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pipeline.domain.taxonomy import PatternId, Severity

# Letters in any script (so "café" or "İstanbul" stay one word), with inner apostrophes ("don't").
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
# A sentence ends at . ! ? (plus closing quotes/brackets) before whitespace, or at a blank line.
_SENTENCE_BREAK = re.compile(r"[.!?]+[\"'’”)\]]*(?=\s|$)|\n[ \t]*\n")
_TERMINATOR = re.compile(r"[.!?]+[\"'’”)\]]*(?=\s|$)")

MAX_EXAMPLE_CHARS = 120
MAX_EXAMPLES = 3
# How far a window may reach either side of a match; bounds the work per example so that an
# unpunctuated ASR transcript (one long "sentence") stays linear.
_REACH = 160


@dataclass(frozen=True)
class Finding:
    """One detected pattern before it becomes an ``Insight``."""

    pattern_id: PatternId
    severity: Severity
    frequency: int
    examples: tuple[str, ...]
    detail: str
    suggestion: str
    next_step: str
    #: Character spans of what was found: two rules finding the same slip count it once.
    spans: tuple[tuple[int, int], ...] = ()
    #: Evidence of rules that are right less often than not on real learner essays (a bare singular
    #: noun may want a plural instead; two verbs in different tenses may both be fine): quoted only
    #: when no surer rule gave an example, and then only one (``quoted``).
    weak_examples: tuple[str, ...] = ()

    def quoted(self) -> tuple[str, ...]:
        """The examples an insight quotes: the sure ones, else the first weak one."""
        return self.examples or self.weak_examples[:1]


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int  # exclusive, includes the terminating punctuation
    first_word: int  # index into Doc.words
    n_words: int


class Doc:
    """A transcript tokenised once: lowercased words with their spans, and sentence spans.

    ``parsed`` holds the parser's reading (``parse.Parsed``) when the analyzer attached one.
    """

    parsed: Any = None

    def __init__(self, text: str) -> None:
        self.text = text
        # Rules match on a lowercased copy with the same indices, so that a span found in ``low`` is
        # quoted from ``text`` verbatim; case-sensitive regexes on it are ~2x faster than IGNORECASE.
        low = text.lower()
        if len(low) != len(text):  # a few Unicode capitals lowercase to two code points
            low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
        self.low: str = low.replace("’", "'")
        matches = list(WORD.finditer(self.low))
        self.words: list[str] = [m.group() for m in matches]
        self.starts: list[int] = [m.start() for m in matches]
        self.ends: list[int] = [m.end() for m in matches]
        self.sentences: list[Sentence] = self._split_sentences()
        self._sentence_starts = [s.start for s in self.sentences]
        # Without at least two sentence terminators the text is raw ASR (or one blob): sentence
        # length and starters cannot be judged honestly, so structure rules stay silent.
        self.punctuated: bool = len(_TERMINATOR.findall(text)) >= 2 and len(self.sentences) >= 2

    @property
    def word_count(self) -> int:
        return len(self.words)

    def per_100_words(self, count: int) -> float:
        return 100.0 * count / max(self.word_count, 1)

    def _split_sentences(self) -> list[Sentence]:
        spans: list[tuple[int, int]] = []
        pos = 0
        for m in _SENTENCE_BREAK.finditer(self.text):
            spans.append((pos, m.end()))
            pos = m.end()
        spans.append((pos, len(self.text)))
        out: list[Sentence] = []
        for a, b in spans:
            first, last = bisect_left(self.starts, a), bisect_left(self.starts, b)
            if last == first:
                continue  # punctuation or whitespace only
            end = b
            while end > a and self.text[end - 1].isspace():
                end -= 1
            out.append(Sentence(self.starts[first], end, first, last - first))
        return out

    def find(self, rx: re.Pattern[str], pos: int = 0, endpos: int | None = None) -> Iterator[re.Match[str]]:
        """``rx.finditer`` over the lowercased text, keeping matches that start at a word boundary.

        Patterns are written without a leading ``\\b`` because that disables the regex engine's
        first-character scan and makes a 5,000-word transcript several times slower.
        """
        low = self.low
        for m in rx.finditer(low, pos, len(low) if endpos is None else endpos):
            start = m.start()
            if start == 0 or not (low[start - 1].isalnum() or low[start - 1] == "_"):
                yield m

    def word(self, i: int) -> str:
        """The i-th lowercased word, or "" outside the text (so callers need no bounds checks)."""
        return self.words[i] if 0 <= i < len(self.words) else ""

    def adjacent(self, i: int, *, allow_comma: bool = False) -> bool:
        """Whether words i and i+1 are separated by whitespace only (or one comma, if allowed)."""
        if i + 1 >= len(self.words):
            return False
        gap = self.low[self.ends[i] : self.starts[i + 1]]
        return not (gap.replace(",", "", 1) if allow_comma else gap).strip()

    def word_index(self, pos: int) -> int:
        """Index of the first word starting at or after ``pos``."""
        return bisect_left(self.starts, pos)

    def prev_word(self, pos: int) -> str:
        i = bisect_left(self.starts, pos) - 1
        return self.words[i] if i >= 0 else ""

    def next_word(self, pos: int) -> str:
        i = bisect_left(self.starts, pos)
        return self.words[i] if i < len(self.words) else ""

    def sentence_at(self, pos: int) -> Sentence:
        i = max(bisect_right(self._sentence_starts, pos) - 1, 0)
        return self.sentences[i]

    def window(self, start: int, end: int, words: int = 3) -> str:
        """The match plus up to ``words`` words either side, inside its sentence, <= 120 chars."""
        sent = self.sentence_at(start)
        lo, hi = max(sent.start, start - _REACH), min(max(sent.end, end), end + _REACH)
        first_in, last_in = bisect_left(self.starts, lo), bisect_right(self.ends, hi) - 1
        match_first, match_last = bisect_left(self.starts, start), bisect_left(self.starts, end) - 1
        for k in range(words, -1, -1):
            i, j = max(first_in, match_first - k), min(last_in, match_last + k)
            a = min(self.starts[i], start) if i < len(self.starts) else start
            b = max(self.ends[j], end) if j >= 0 else end
            if b - a <= MAX_EXAMPLE_CHARS:
                return self.text[a:b]
        return self.text[start : min(end, start + MAX_EXAMPLE_CHARS)].strip()

    def sentence_text(self, sent: Sentence) -> str:
        """A sentence verbatim, cut at a word boundary if it is longer than 120 chars."""
        snippet = self.text[sent.start : sent.end]
        if len(snippet) <= MAX_EXAMPLE_CHARS:
            return snippet
        cut = snippet.rfind(" ", 0, MAX_EXAMPLE_CHARS)
        return snippet[: cut if cut > 0 else MAX_EXAMPLE_CHARS].rstrip(" ,;:")

    def sentence_opening(self, sent: Sentence, words: int = 6) -> str:
        last = min(sent.first_word + words, sent.first_word + sent.n_words) - 1
        return self.text[sent.start : self.ends[last]]


def wordset(words: str) -> frozenset[str]:
    """A set of lowercase words from a space-separated string: word lists stay readable."""
    return frozenset(words.split())


def pick_examples(candidates: Iterable[str], text: str) -> tuple[str, ...]:
    """Up to three distinct, non-empty examples that are verbatim substrings of ``text``."""
    picked: list[str] = []
    for example in candidates:
        # Overlapping windows around neighbouring matches would quote the same words twice.
        if example and example in text and not any(example in p or p in example for p in picked):
            picked.append(example)
            if len(picked) == MAX_EXAMPLES:
                break
    return tuple(picked)


def count_of(n: int, singular: str, plural: str | None = None) -> str:
    """'1 verb', '3 verbs': details are read by learners, so the grammar of the feedback matters."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def breakdown(counts: Counter[str]) -> str:
    """Counts as text, e.g. 'um' x3, 'like' x1: most frequent first, ties alphabetical (deterministic)."""
    return ", ".join(f"'{k}' x{v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def top(counts: Counter[str], n: int = 2) -> list[str]:
    """The n most frequent keys, ties alphabetical."""
    return [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


Detector = Callable[[Doc], Finding | None]
