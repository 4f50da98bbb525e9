"""The offline analyzer: transparent rules over an English transcript, no model, no network.

It is the provider the demo, the tests and users without API keys rely on, so it must be honest:
it reports only what a surface rule can see, quotes evidence verbatim, and says so when nothing
recurring was found instead of inventing a weakness. The rules live in ``rules_detectors``
(vocabulary), ``rules_grammar``, ``rules_articles``, ``rules_word_order`` and ``rules_structure``;
this module validates input, merges findings of one pattern (a/an and a missing article are both
``grammar.articles``), ranks them and writes the session-level focus and summary.
"""

from __future__ import annotations

import logging

from pipeline.domain.errors import PermanentError
from pipeline.domain.models import Insight, SessionAnalysis, UsageCost
from pipeline.domain.taxonomy import LABELS, PATTERN_IDS, SEVERITY_WEIGHT, category_of
from pipeline.providers.analysis.base import AnalysisResult
from pipeline.providers.analysis.rules.articles import missing_articles
from pipeline.providers.analysis.rules.grammar import articles, plurals, subject_verb_agreement, verb_tense
from pipeline.providers.analysis.rules.structure import (
    repetitive_starters,
    run_on_sentences,
    short_simple_sentences,
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
RULES_VERSION = "rules-v2"
MAX_INSIGHTS = 5
_NOTHING_FOCUS = (
    "Stretch yourself next time: tell a longer story with more varied linking words and descriptions."
)

DETECTORS: tuple[Detector, ...] = (
    verb_tense,
    subject_verb_agreement,
    articles,
    missing_articles,
    word_order,
    plurals,
    filler_words,
    overused_intensifiers,
    vague_words,
    repetition,
    limited_connectors,
    short_simple_sentences,
    run_on_sentences,
    repetitive_starters,
)


def merge_same_pattern(findings: list[Finding], text: str) -> list[Finding]:
    """One finding per pattern id: counts summed, the higher severity, examples taken in turn from each."""
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.pattern_id, []).append(f)
    merged = []
    for group in groups.values():
        if len(group) == 1:
            merged.append(group[0])
            continue
        lead = max(group, key=lambda f: (f.frequency, SEVERITY_WEIGHT[f.severity]))
        turns = [
            f.examples[k]
            for k in range(max(len(f.examples) for f in group))
            for f in group
            if k < len(f.examples)
        ]
        merged.append(
            Finding(
                pattern_id=lead.pattern_id,
                severity=max((f.severity for f in group), key=SEVERITY_WEIGHT.__getitem__),
                frequency=sum(f.frequency for f in group),
                examples=pick_examples(turns, text),
                detail=" ".join(f.detail for f in group),
                suggestion=" ".join(f.suggestion for f in group),
                next_step=lead.next_step,
            )
        )
    return merged


def rank(findings: list[Finding]) -> list[Finding]:
    """Order by frequency x severity weight; ties by severity, then taxonomy order (deterministic)."""

    def key(f: Finding) -> tuple[int, int, int]:
        weight = SEVERITY_WEIGHT[f.severity]
        return (-f.frequency * weight, -weight, PATTERN_IDS.index(f.pattern_id))

    return sorted(findings, key=key)


class RuleBasedAnalyzer:
    """Implements ``Analyzer`` with deterministic rules; pure and fast (no I/O, no clock, no randomness)."""

    name = "rules"
    model = RULES_VERSION
    prompt_version = RULES_VERSION

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
        findings = rank(
            merge_same_pattern([f for f in (detect(doc) for detect in DETECTORS) if f is not None], text)
        )
        kept = findings[:MAX_INSIGHTS]
        insights, dropped = _insights(kept, text)
        logger.debug(
            "rules analyzer: %d words, %d patterns found, %d kept", doc.word_count, len(findings), len(kept)
        )
        analysis = SessionAnalysis(
            insights=insights,
            focus_next=kept[0].next_step if kept else _NOTHING_FOCUS,
            summary=_summary(doc, findings),
        )
        return AnalysisResult(analysis=analysis, usage=UsageCost(calls=0), dropped_examples=dropped)


def _insights(findings: list[Finding], text: str) -> tuple[list[Insight], int]:
    """Findings as schema insights; any example that is not verbatim in the text is dropped and counted."""
    if not findings:
        return [
            Insight(
                category="structure",
                pattern_id="other",
                pattern="No recurring issues detected",
                detail="The offline rules found no recurring grammar, vocabulary or sentence-structure pattern.",
                frequency=1,
                severity="low",
                examples=[],
                suggestion=_NOTHING_FOCUS,
            )
        ], 0
    insights, dropped = [], 0
    for f in findings:
        examples = [e for e in f.examples if e in text]
        dropped += len(f.examples) - len(examples)
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
    else:
        sentences.append(
            f"This {doc.word_count}-word session shows no recurring patterns the offline rules can detect."
        )
    if not doc.punctuated:
        sentences.append("Sentence structure was not assessed because the transcript has no punctuation.")
    found = {f.pattern_id for f in findings}
    if not found & {
        "grammar.verb_tense",
        "grammar.subject_verb_agreement",
        "grammar.articles",
        "grammar.word_order",
        "grammar.plurals",
    }:
        sentences.append("Good news: no tense, agreement, article, word-order or plural slips were detected.")
    elif not found & {
        "vocabulary.filler_words",
        "vocabulary.overused_intensifiers",
        "vocabulary.vague_words",
    }:
        sentences.append("Good news: your word choice was precise, with few fillers or vague words.")
    else:
        sentences.append("Keep going: working on one pattern at a time is the quickest way to sound fluent.")
    return " ".join(sentences)
