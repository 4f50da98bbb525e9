"""Real learner essays with gold error annotations, for ``bench.learner_eval``: fetched at bench time, never committed.

The essays ship inside the PyPI source distribution ``gecommon==0.2.0`` (a GEC toolkit that bundles
the public shared-task data). It is downloaded once with pip into a cache folder
(``$XDG_CACHE_HOME/speaking-pipeline/``, default ``~/.cache``), its SHA-256 checked against the pin
below, and read straight from the archive; nothing is extracted into the repository.

Sets and licences:
- CoNLL-2013 and CoNLL-2014 shared-task test essays (NUCLE, 50 each; "distributed freely" by NUS):
  the SGML files keep whole essays, character offsets and NUCLE error types. CoNLL-2014 has two
  annotators; a gold error is one either of them marked.
- FCE (Cambridge Learner Corpus, First Certificate answers): typed CLC error codes with character
  offsets. Its licence allows non-commercial research and educational use only, so these sets are
  read only when the bench is told the user accepts that licence (``--fce``).

Each essay becomes one session's transcript; its gold errors are mapped to the taxonomy (``TYPE_MAP``
for NUCLE, ``CLC_MAP`` for FCE; a determiner error counts as ``grammar.articles`` only when a/an/the is
in the original or the correction).
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

SDIST = "gecommon-0.2.0.tar.gz"
SDIST_SHA256 = "6f35c9f88fa2903fed37128eb0ebcac49f1954fd3e53f14c4db137da15aa7498"
_ROOT = "gecommon-0.2.0/datasets/"
NUCLE_FILES = {
    "conll13": ("conll13/release2.3.1/revised/data/official.sgml",),
    "conll14": (
        "conll14/conll14st-test-data/noalt/official-2014.0.sgml",
        "conll14/conll14st-test-data/noalt/official-2014.1.sgml",
    ),
}
FCE_FILES = {"fce-train": "fce-dev/fce/json/fce.train.json", "fce-test": "fce-dev/fce/json/fce.test.json"}

TYPE_MAP = {
    "Vt": "grammar.verb_tense",
    "SVA": "grammar.subject_verb_agreement",
    "ArtOrDet": "grammar.articles",
    "Prep": "grammar.prepositions",
    "WOinc": "grammar.word_order",
    "WOadv": "grammar.word_order",
    "Nn": "grammar.plurals",
    "Srun": "structure.run_on_sentences",
    "Sfrag": "structure.incomplete_sentences",
    "Trans": "vocabulary.limited_connectors",
}
CLC_MAP = {
    "TV": "grammar.verb_tense",
    "AGV": "grammar.subject_verb_agreement",
    "MD": "grammar.articles",
    "UD": "grammar.articles",
    "RD": "grammar.articles",
    "FD": "grammar.articles",
    "MT": "grammar.prepositions",
    "RT": "grammar.prepositions",
    "UT": "grammar.prepositions",
    "W": "grammar.word_order",
    "FN": "grammar.plurals",
    "AGN": "grammar.plurals",
    "CN": "grammar.plurals",
    "IN": "grammar.plurals",
}
GRAMMAR = tuple(sorted({t for t in TYPE_MAP.values() if t.startswith("grammar.")}))
MAPPED = tuple(sorted(set(TYPE_MAP.values())))
_ARTICLE = re.compile(r"\b(?:a|an|the)\b", re.IGNORECASE)


@dataclass(frozen=True)
class GoldError:
    start: int
    end: int  # exclusive; start == end for a missing word
    pattern_id: str


@dataclass
class Essay:
    set_name: str
    essay_id: str
    text: str
    errors: list[GoldError] = field(default_factory=list)
    annotated: tuple[str, ...] = MAPPED  # the pattern ids its annotation scheme can mark

    def count(self, pattern_id: str) -> int:
        return sum(1 for e in self.errors if e.pattern_id == pattern_id)


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "speaking-pipeline"


def sdist_path() -> Path:
    """The verified sdist in the cache, downloaded with pip if it is not there yet."""
    folder = cache_dir()
    path = folder / SDIST
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        logger.info("downloading %s into %s", SDIST, folder)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
            + ["gecommon==0.2.0", "-d", str(folder)],
            check=True,
        )
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    if digest != SDIST_SHA256:
        raise RuntimeError(f"{path}: SHA-256 {digest} is not the pinned {SDIST_SHA256}; delete it and rerun")
    return path


def _is_article_edit(original: str, correction: str | None) -> bool:
    return bool(_ARTICLE.search(original) or _ARTICLE.search(correction or ""))


_DOC = re.compile(r'<DOC nid="(\d+)">(.*?)</DOC>', re.S)
_PAR = re.compile(r"<(?:P|TITLE)>\n(.*?)\n</(?:P|TITLE)>", re.S)  # a title is paragraph 0
_MISTAKE = re.compile(
    r'<MISTAKE start_par="(\d+)" start_off="(\d+)" end_par="(\d+)" end_off="(\d+)">\s*'
    r"<TYPE>([^<]*)</TYPE>\s*<CORRECTION>([^<]*)</CORRECTION>",
    re.S,
)


def _nucle(set_name: str, sgml_files: list[str]) -> list[Essay]:
    essays: dict[str, Essay] = {}
    seen: set[tuple[str, int, int, str]] = set()
    for sgml in sgml_files:
        for nid, body in _DOC.findall(sgml):
            text_part, _, annotations = body.partition("<ANNOTATION")
            paragraphs = [html.unescape(p) for p in _PAR.findall(text_part)]
            # A paragraph offset maps to the essay text, paragraphs joined by a blank line.
            offsets, pos = [], 0
            for p in paragraphs:
                offsets.append(pos)
                pos += len(p) + 2
            essay = essays.setdefault(nid, Essay(set_name, nid, "\n\n".join(paragraphs)))
            for sp, so, ep, eo, kind, correction in _MISTAKE.findall(annotations):
                pattern = TYPE_MAP.get(kind)
                if pattern is None or sp != ep:
                    continue
                start, end = offsets[int(sp)] + int(so), offsets[int(ep)] + int(eo)
                if kind == "ArtOrDet" and not _is_article_edit(essay.text[start:end], correction):
                    continue
                if (nid, start, end, pattern) not in seen:
                    seen.add((nid, start, end, pattern))
                    essay.errors.append(GoldError(start, end, pattern))
    return list(essays.values())


def _fce(set_name: str, lines: list[str]) -> list[Essay]:
    essays = []
    for line in lines:
        record = json.loads(line)
        text = record["text"]
        essay = Essay(set_name, record["id"], text, annotated=GRAMMAR)  # CLC marks no run-ons
        for _annotator, edits in record["edits"]:
            for start, end, correction, code in edits:
                pattern = CLC_MAP.get(code or "")
                if pattern is None:
                    continue
                if pattern == "grammar.articles" and not _is_article_edit(text[start:end], correction):
                    continue
                essay.errors.append(GoldError(start, end, pattern))
        essays.append(essay)
    return essays


def load(sets: list[str]) -> dict[str, list[Essay]]:
    """The named sets (conll13, conll14, fce-train, fce-test) read from the verified sdist."""
    out: dict[str, list[Essay]] = {}
    with tarfile.open(sdist_path()) as tar:

        def read(member: str) -> str:
            handle = tar.extractfile(_ROOT + member)
            assert handle is not None, member
            return handle.read().decode("utf-8")

        for name in sets:
            if name in NUCLE_FILES:
                out[name] = _nucle(name, [read(m) for m in NUCLE_FILES[name]])
            else:
                out[name] = _fce(name, read(FCE_FILES[name]).splitlines())
    return out
