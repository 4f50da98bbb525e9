"""The parse the grammar detectors read: spaCy tags, dependencies and lemmas, with disfluencies left out.

Speech is not writing: "um", "you know", filler "like" and restarts ("I I went") would make the
parser attach words wrongly, and they are not grammar errors. So the transcript is tokenised
with its character offsets, those tokens are dropped, and the parser runs on the rest; every
token keeps the span of the original text it came from, so a detector's evidence is still quoted
verbatim (``Doc.window``), fillers inside it included. Long transcripts are parsed in pieces cut at
sentence ends (or, in unpunctuated ASR text, every ``_PIECE_TOKENS`` tokens), so memory stays flat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.providers.analysis.rules.text import Doc, wordset
from pipeline.providers.analysis.rules.vocabulary import filler_spans

_PIECE_TOKENS = 3000
# Doubled on purpose often enough to keep ("that that", "had had", "very very" is an intensifier).
_LEGIT_DOUBLES = wordset("that had very really so bye ha no yes")


@dataclass(frozen=True)
class Parsed:
    """A spaCy Doc over the kept tokens, and each token's (start, end) in the original text."""

    tokens: Any  # spacy.tokens.Doc
    starts: list[int]
    ends: list[int]

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Character span of tokens first..last (inclusive) in the original text."""
        return self.starts[first], self.ends[last]


def _kept(nlp: Any, doc: Doc) -> list[Any]:
    _, fillers = filler_spans(doc)
    tokens = list(nlp.tokenizer(doc.text))
    dropped = set()
    k = 0
    for i, tok in enumerate(tokens):
        while k < len(fillers) and fillers[k][1] <= tok.idx:
            k += 1
        if k < len(fillers) and fillers[k][0] <= tok.idx < fillers[k][1]:
            dropped.add(i)
    kept = [t for i, t in enumerate(tokens) if i not in dropped]
    # A restart on the same word ("I I went", "the the park"): the parser reads the last one.
    return [
        t
        for j, t in enumerate(kept)
        if not (
            j + 1 < len(kept)
            and t.is_alpha
            and t.lower_ == kept[j + 1].lower_
            and t.lower_ not in _LEGIT_DOUBLES
        )
    ]


def _pieces(kept: list[Any]) -> list[list[Any]]:
    pieces, start = [], 0
    while start < len(kept):
        end = min(start + _PIECE_TOKENS, len(kept))
        if end < len(kept):
            cut = next((j + 1 for j in range(end - 1, start, -1) if kept[j].text in (".", "!", "?")), end)
            end = cut
        pieces.append(kept[start:end])
        start = end
    return pieces


def parse(nlp: Any, doc: Doc) -> Parsed:
    """Tag and parse ``doc``'s text without its fillers and restarts; offsets point into the original."""
    from spacy.tokens import Doc as SpacyDoc

    kept = _kept(nlp, doc)
    docs, starts, ends = [], [], []
    for piece in _pieces(kept):
        words = [t.text for t in piece]
        spaces = [
            bool(t.whitespace_) or (j + 1 < len(piece) and piece[j + 1].idx > t.idx + len(t.text))
            for j, t in enumerate(piece)
        ]
        spacy_doc = SpacyDoc(nlp.vocab, words=words, spaces=spaces)
        for _name, component in nlp.pipeline:
            spacy_doc = component(spacy_doc)
        docs.append(spacy_doc)
        starts += [t.idx for t in piece]
        ends += [t.idx + len(t.text) for t in piece]
    tokens = docs[0] if len(docs) == 1 else SpacyDoc.from_docs(docs) if docs else SpacyDoc(nlp.vocab)
    return Parsed(tokens, starts, ends)
