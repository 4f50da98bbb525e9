"""The grammar detectors that read the parse, as ``Detector`` functions over a ``Doc`` with ``parsed`` set.

Each turns the token spans of one rule module (``agreement``, ``tense``, ``determiners``,
``prepositions``, ``nouns``) into a ``Finding`` with verbatim examples (``Doc.window`` over the
original characters, so fillers the parser skipped stay in the quote). Without a parse (the
analyzer could not load its model) they stay silent.
"""

from __future__ import annotations

from pipeline.domain.taxonomy import PatternId, Severity
from pipeline.providers.analysis.rules.agreement import agreement_errors, relative_errors, there_be_errors
from pipeline.providers.analysis.rules.article_use import counted_uncountable, extra_the, such_without_a
from pipeline.providers.analysis.rules.clause_order import adverb_before_modal, embedded_questions
from pipeline.providers.analysis.rules.collocations import (
    change_of,
    doubled_particles,
    phrase_errors,
    stopping_infinitive,
)
from pipeline.providers.analysis.rules.determiners import missing_determiners
from pipeline.providers.analysis.rules.missing_preposition import missing_prepositions
from pipeline.providers.analysis.rules.nouns import number_errors
from pipeline.providers.analysis.rules.prepositions import preposition_errors
from pipeline.providers.analysis.rules.tense import marker_errors, past_narrative, will_in_time_clause
from pipeline.providers.analysis.rules.text import Doc, Finding, count_of, pick_examples
from pipeline.providers.analysis.rules.time_frame import frame_errors, mixed_tense


def _finding(
    doc: Doc,
    token_spans: list[tuple[int, int]],
    pattern_id: PatternId,
    severity: Severity,
    what: str,
    suggestion: str,
    next_step: str,
    weak: list[tuple[int, int]] | None = None,
) -> Finding | None:
    """``token_spans`` from sure rules, surest first; ``weak`` from rules right less often than not."""
    parsed = doc.parsed
    # Examples in the order given (each caller lists its surest rule first), spans in text order.
    ordered = list(dict.fromkeys(parsed.span(a, b) for a, b in token_spans))
    weak_spans = [s for s in dict.fromkeys(parsed.span(a, b) for a, b in weak or []) if s not in ordered]
    spans = sorted(ordered + weak_spans)
    if not spans:
        return None
    return Finding(
        pattern_id=pattern_id,
        severity=severity,
        frequency=len(spans),
        examples=pick_examples((doc.window(a, b, 1) for a, b in ordered), doc.text),
        detail=f"{count_of(len(spans), 'time')}: {what}, e.g. '{doc.text[slice(*spans[0])]}'.",
        suggestion=suggestion,
        next_step=next_step,
        spans=tuple(spans),
        weak_examples=pick_examples((doc.window(a, b, 1) for a, b in weak_spans), doc.text),
    )


def parsed_agreement(doc: Doc) -> Finding | None:
    if doc.parsed is None:
        return None
    tokens = doc.parsed.tokens
    spans = []
    for a, b in there_be_errors(tokens) + relative_errors(tokens) + agreement_errors(tokens):
        verb = tokens[b] if tokens[b].pos_ in ("VERB", "AUX") else tokens[a]
        # "then he forgive him" in a story told in the past is a tense slip, not agreement.
        if not (verb.tag_ == "VBP" and past_narrative(tokens, verb.i)):
            spans.append((a, b))
    return _finding(
        doc,
        spans,
        "grammar.subject_verb_agreement",
        "high",
        "verb not agreeing with its subject",
        "Match the verb to its subject, even when words stand between them: one person or thing takes "
        "is/has/does and -s (my brother plays, the price of houses is); several take are/have/do (people are).",
        "Find the subject of each verb and check: one thing -> 'is', '-s'; several -> 'are', no -s.",
    )


def parsed_tense(doc: Doc) -> Finding | None:
    if doc.parsed is None:
        return None
    tokens = doc.parsed.tokens
    # Without punctuation (raw ASR) the parser cannot tell where a clause ends: no clause pairs.
    punctuated = any(c in doc.text for c in ".!?")
    return _finding(
        doc,
        marker_errors(tokens, punctuated=punctuated)
        + will_in_time_clause(tokens)
        + frame_errors(tokens, punctuated=punctuated),
        "grammar.verb_tense",
        "high",
        "verb in the wrong tense for its time",
        "Match the tense to the time: with yesterday, last week, '... ago' or a past year use the past "
        "(I went, not I go or I have gone); after when/if/before about the future use the present "
        "(when I arrive, not when I will arrive).",
        "With a past time word use the past; after 'when' or 'if' about the future use the present.",
        weak=mixed_tense(tokens) if punctuated else [],
    )


def parsed_articles(doc: Doc) -> Finding | None:
    if doc.parsed is None:
        return None
    # A bare noun the number rule already explains ("other device", "machine are") is not also an article slip.
    numbered = {b for _a, b in number_errors(doc.parsed.tokens)} | {
        a for a, _b in number_errors(doc.parsed.tokens)
    }
    tokens = doc.parsed.tokens
    return _finding(
        doc,
        counted_uncountable(tokens) + extra_the(tokens) + such_without_a(tokens),
        "grammar.articles",
        "medium",
        "article missing before a countable noun, or one before a noun meant in general",
        "One thing that can be counted needs a/an, the, or my/this in front: he is a teacher, "
        "I bought a new car, the government should act. A noun meant in general takes none "
        "(society has changed, to protect privacy), nor does one never counted (evidence, progress).",
        "Before one countable thing (car, teacher, problem) say 'a' or 'the'.",
        weak=[(a, b) for a, b in missing_determiners(tokens) if b not in numbered],
    )


def parsed_prepositions(doc: Doc) -> Finding | None:
    if doc.parsed is None:
        return None
    return _finding(
        doc,
        preposition_errors(doc.parsed.tokens)
        + phrase_errors(doc.parsed.tokens)
        + missing_prepositions(doc.parsed.tokens)
        + stopping_infinitive(doc.parsed.tokens)
        + change_of(doc.parsed.tokens)
        + doubled_particles(doc.parsed.tokens),
        "grammar.prepositions",
        "medium",
        "wrong, extra or missing preposition",
        "Learn verbs, adjectives and nouns with their preposition: depend on, interested in, the effect "
        "on, listen to, wait for, agree with; no preposition after discuss, mention, reach or enter; "
        "in 2010, in May, on Monday.",
        "Say 'depend on', 'interested in', 'discuss it' (no 'about'): learn each word with its preposition.",
    )


def parsed_plurals(doc: Doc) -> Finding | None:
    if doc.parsed is None:
        return None
    return _finding(
        doc,
        number_errors(doc.parsed.tokens),
        "grammar.plurals",
        "medium",
        "noun in the wrong number",
        "After a number above one, many, several or 'one of the', the noun is plural (two friends, "
        "one of the reasons); after every/each it is singular; information, advice and equipment "
        "have no plural.",
        "After a number or 'many', add -s; never say 'informations' or 'advices'.",
    )


def parsed_word_order(doc: Doc) -> Finding | None:
    if doc.parsed is None:
        return None
    tokens = doc.parsed.tokens
    return _finding(
        doc,
        embedded_questions(tokens, punctuated=any(c in doc.text for c in ".!?"))
        + adverb_before_modal(tokens),
        "grammar.word_order",
        "medium",
        "words in question order inside a statement, or an adverb before its modal",
        "Inside a sentence a question keeps statement order: I know where the station is (not where "
        "is the station); put also/only/always after can/will/must: it can also help.",
        "After 'I know / tell me / find out where...', say subject then verb: 'where the kids are'.",
    )
