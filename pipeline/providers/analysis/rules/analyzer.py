"""The offline analyzer: rules over an English transcript and its parse, no network, no API key.

It is the provider the demo, the tests and users without API keys rely on, so it must be honest:
it reports only what its rules can see, quotes evidence verbatim, and says so when nothing
recurring was found (or the session is too short to judge) instead of inventing a weakness.
Surface rules over words live in ``vocabulary``, ``grammar``, ``articles``, ``word_order`` and
``structure``; rules over spaCy's parse (``spacy_model``, loaded once per process, and ``parse``)
in ``syntax``. This module validates input, merges findings of one pattern (two rules finding the
same slip count it once), ranks them and writes the session-level focus and summary.
"""

from __future__ import annotations

import logging
import threading

from pipeline.domain.errors import PermanentError
from pipeline.domain.models import Insight, PatternCount, SessionAnalysis, UsageCost
from pipeline.domain.taxonomy import LABELS, PATTERN_IDS, SEVERITY_WEIGHT, category_of
from pipeline.providers.analysis.base import AnalysisResult
from pipeline.providers.analysis.rules import spacy_model
from pipeline.providers.analysis.rules.articles import missing_articles
from pipeline.providers.analysis.rules.grammar import articles, plurals, subject_verb_agreement, verb_tense
from pipeline.providers.analysis.rules.parse import parse
from pipeline.providers.analysis.rules.structure import (
    repetitive_starters,
    run_on_sentences,
    short_simple_sentences,
)
from pipeline.providers.analysis.rules.syntax import (
    parsed_agreement,
    parsed_articles,
    parsed_plurals,
    parsed_prepositions,
    parsed_tense,
    parsed_word_order,
)
from pipeline.providers.analysis.rules.text import Detector, Doc, Finding, count_of, pick_examples
from pipeline.providers.analysis.rules.vocabulary import (
    filler_words,
    limited_connectors,
    overused_intensifiers,
    repetition,
    vague_words,
)
from pipeline.providers.analysis.rules.word_order import word_order

logger = logging.getLogger(__name__)

#: Bump whenever a rule, threshold or wording changes: it is part of the insights memo key.
RULES_VERSION = "rules-v6"
MAX_INSIGHTS = 5
#: Below this many words one slip is no pattern and no habit can be told from chance: say so.
MIN_WORDS_TO_JUDGE = 30
_NOTHING_FOCUS = (
    "Stretch yourself next time: tell a longer story with more varied linking words and descriptions."
)

DETECTORS: tuple[Detector, ...] = (
    verb_tense,
    parsed_tense,
    subject_verb_agreement,
    parsed_agreement,
    articles,
    missing_articles,
    parsed_articles,
    parsed_prepositions,
    word_order,
    parsed_word_order,
    plurals,
    parsed_plurals,
    filler_words,
    overused_intensifiers,
    vague_words,
    repetition,
    limited_connectors,
    short_simple_sentences,
    run_on_sentences,
    repetitive_starters,
)


def _distinct(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans in text order, leaving out any that overlaps one already kept (one slip, two rules)."""
    kept: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if not (kept and a < kept[-1][1]):
            kept.append((a, b))
    return kept


def merge_same_pattern(findings: list[Finding], text: str) -> list[Finding]:
    """One finding per pattern id: slips found by two rules counted once, the higher severity,
    examples taken in turn from each, details of the rules that found something new."""
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.pattern_id, []).append(f)
    merged = []
    for group in groups.values():
        if len(group) == 1:
            merged.append(group[0])
            continue
        lead = max(group, key=lambda f: (f.frequency, SEVERITY_WEIGHT[f.severity]))
        if all(f.spans for f in group):
            spans = _distinct([s for f in group for s in f.spans])
            # A rule's spans may overlap each other (the tense rule's run from the time word to each
            # verb): never fewer slips than one rule alone counted.
            frequency = max(len(spans), *(f.frequency for f in group))
        else:
            spans, frequency = [], sum(f.frequency for f in group)
        turns = [
            f.examples[k]
            for k in range(max(len(f.examples) for f in group))
            for f in group
            if k < len(f.examples)
        ]
        weak_turns = [
            f.weak_examples[k]
            for k in range(max(len(f.weak_examples) for f in group))
            for f in group
            if k < len(f.weak_examples)
        ]
        detail = " ".join(dict.fromkeys(f.detail for f in group))
        if frequency < sum(f.frequency for f in group):
            detail += f" {count_of(frequency, 'slip')} in all: one found by two rules counts once."
        merged.append(
            Finding(
                pattern_id=lead.pattern_id,
                severity=max((f.severity for f in group), key=SEVERITY_WEIGHT.__getitem__),
                frequency=frequency,
                examples=pick_examples(turns, text),
                detail=detail,
                suggestion=" ".join(dict.fromkeys(f.suggestion for f in group)),
                next_step=lead.next_step,
                spans=tuple(spans),
                weak_examples=pick_examples(weak_turns, text),
            )
        )
    return merged


def is_sure(pattern_id: str) -> bool:
    """Whether a pattern's evidence is an error or a counted word, not a judgement of style.

    Grammar slips (read from the parse, each rule checked on real learner essays) and filler words
    (counted) are sure; repetition, run-on or short sentences, starters, vague words, intensifiers
    and connectors are judgements of style that real learners' annotated essays mostly do not bear out
    (run-on sentences: 10 of 23 reports real on CoNLL-2013). The slots go to the sure ones first.
    """
    return pattern_id.startswith("grammar.") or pattern_id == "vocabulary.filler_words"


def rank(findings: list[Finding]) -> list[Finding]:
    """Sure patterns first (``is_sure``), then by frequency x severity weight; ties by severity, then
    taxonomy order (deterministic)."""

    def key(f: Finding) -> tuple[bool, int, int, int]:
        weight = SEVERITY_WEIGHT[f.severity]
        return (not is_sure(f.pattern_id), -f.frequency * weight, -weight, PATTERN_IDS.index(f.pattern_id))

    return sorted(findings, key=key)


_parse_lock = threading.Lock()  # one spaCy pipeline per process, shared by the threads of a run


def model_label(spacy_spec: str = "") -> str:
    """What results record as the analyzer's model: the spaCy pipeline and the digest of its files."""
    return spacy_model.resolve(spacy_spec).label


class RuleBasedAnalyzer:
    """Implements ``Analyzer`` with deterministic rules over words and a parse (no network, no clock)."""

    name = "rules"
    prompt_version = RULES_VERSION

    def __init__(self, spacy_spec: str = "") -> None:
        """``spacy_spec`` is ``SPACY_MODEL``: empty for the pinned default, else a folder or package."""
        self._ref = spacy_model.resolve(spacy_spec)
        self.model = self._ref.label

    def analyze(self, text: str, *, language: str = "en") -> AnalysisResult:
        if not text or not text.strip():
            raise PermanentError("transcript is empty: there is nothing to analyze")
        if not language.lower().startswith("en"):
            raise PermanentError(
                f"the offline rules analyzer supports English only (session language is {language!r}); "
                "set ANALYZER_PROVIDER=anthropic or ANALYZER_PROVIDER=openai to analyze other languages"
            )
        doc = Doc(text)
        if not doc.word_count:
            raise PermanentError("transcript is empty: it contains no words to analyze")
        nlp = spacy_model.load(self._ref)  # once per process; a damaged model fails here, clearly
        with _parse_lock:
            doc.parsed = parse(nlp, doc)
        findings = rank(
            merge_same_pattern([f for f in (detect(doc) for detect in DETECTORS) if f is not None], text)
        )
        kept = findings[:MAX_INSIGHTS]
        insights, dropped = _insights(kept, text, judged=doc.word_count >= MIN_WORDS_TO_JUDGE)
        logger.debug(
            "rules analyzer: %d words, %d patterns found, %d kept", doc.word_count, len(findings), len(kept)
        )
        analysis = SessionAnalysis(
            insights=insights,
            focus_next=kept[0].next_step if kept else _NOTHING_FOCUS,
            summary=_summary(doc, findings),
            pattern_counts=[PatternCount(pattern_id=f.pattern_id, count=f.frequency) for f in findings],
        )
        return AnalysisResult(analysis=analysis, usage=UsageCost(calls=0), dropped_examples=dropped)


def _insights(findings: list[Finding], text: str, *, judged: bool = True) -> tuple[list[Insight], int]:
    """Findings as schema insights; any example that is not verbatim in the text is dropped and counted."""
    if not findings:
        return [
            Insight(
                category="structure",
                pattern_id="other",
                pattern="No recurring issues detected" if judged else "Too short to judge",
                detail=(
                    "The offline rules found no recurring grammar, vocabulary or sentence-structure pattern."
                    if judged
                    else f"Fewer than {MIN_WORDS_TO_JUDGE} words: too little speech to tell a habit from a slip."
                ),
                frequency=1,
                severity="low",
                examples=[],
                suggestion=_NOTHING_FOCUS,
            )
        ], 0
    insights, dropped = [], 0
    for f in findings:
        examples = [e for e in f.quoted() if e in text]
        dropped += len(f.quoted()) - len(examples)
        insights.append(
            Insight(
                category=category_of(f.pattern_id),
                pattern_id=f.pattern_id,
                pattern=LABELS[f.pattern_id],
                detail=f.detail,
                frequency=min(f.frequency, 10_000),
                severity=f.severity,
                examples=examples,
                suggestion=f.suggestion,
            )
        )
    if dropped:  # a bug in a rule, never the learner's fault: keep the insight, lose the quote
        logger.warning("rules analyzer dropped %d non-verbatim examples", dropped)
    return insights, dropped


def _summary(doc: Doc, findings: list[Finding]) -> str:
    sentences = []
    if findings:
        named = [f"{LABELS[f.pattern_id].lower()} ({count_of(f.frequency, 'time')})" for f in findings[:3]]
        listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
        sentences.append(
            f"This {doc.word_count}-word session shows {count_of(len(findings), 'pattern')} worth working on; "
            f"weighing frequency by severity, the top {'one is' if len(named) == 1 else 'ones are'} {listed}."
        )
    elif doc.word_count < MIN_WORDS_TO_JUDGE:
        sentences.append(
            f"This {doc.word_count}-word session is too short for the offline rules to judge: "
            f"they need at least {MIN_WORDS_TO_JUDGE} words to tell a habit from a slip."
        )
    else:
        sentences.append(
            f"This {doc.word_count}-word session shows no recurring patterns the offline rules can detect."
        )
    if not doc.punctuated:
        sentences.append("Sentence structure was not assessed because the transcript has no punctuation.")
    found = {f.pattern_id for f in findings}
    if doc.word_count < MIN_WORDS_TO_JUDGE:
        pass
    elif not found & {
        "grammar.verb_tense",
        "grammar.subject_verb_agreement",
        "grammar.articles",
        "grammar.prepositions",
        "grammar.word_order",
        "grammar.plurals",
    }:
        sentences.append(
            "Good news: no tense, agreement, article, preposition, word-order or plural slips were detected."
        )
    elif not found & {
        "vocabulary.filler_words",
        "vocabulary.overused_intensifiers",
        "vocabulary.vague_words",
    }:
        sentences.append("Good news: your word choice was precise, with few fillers or vague words.")
    else:
        sentences.append("Keep going: working on one pattern at a time is the quickest way to sound fluent.")
    return " ".join(sentences)
