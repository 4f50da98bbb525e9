"""Checks on what a language model returns: validate, repair once, keep only verbatim quotes.

Both cloud analyzers run the same loop (``analyze_with_repair``): the API already constrains the
shape, but a model can still break limits the schema cannot express (or the API does not enforce),
so the output is validated with pydantic. On failure the validation error goes back to the model
once; a second failure is permanent, because paying for a third identical attempt rarely helps.
Quotes are then checked against the transcript, since a model paraphrasing "evidence" would put
words in a learner's mouth.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from pipeline.domain.errors import PermanentError
from pipeline.domain.models import SessionAnalysis, UsageCost
from pipeline.providers.analysis.base import AnalysisResult
from pipeline.providers.pricing import Price, estimate_cost

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 2000
_DECORATION = " \t\r\n\"'`“”‘’«»….,;:"
_EQUIVALENT = {"'": "['‘’]", "‘": "['‘’]", "’": "['‘’]", '"': '["“”]', "“": '["“”]', "”": '["“”]'}


class InvalidOutput(ValueError):
    """The model's output is not a valid SessionAnalysis; the message is fit to send back to it."""


@dataclass(frozen=True)
class Attempt:
    """One model call: its output (parsed JSON, or raw text), its token usage, and the raw reply."""

    output: object
    input_tokens: int = 0
    output_tokens: int = 0
    reply: Any = None  # vendor-specific, so a repair can continue the same conversation


#: Makes one call. With ``(previous, error)`` it must ask the model to repair ``previous``.
AttemptFn = Callable[[Attempt | None, str | None], Attempt]


def validate_output(output: object) -> SessionAnalysis:
    """The output as a SessionAnalysis, or InvalidOutput with a compact, transcript-free message.

    An attempt that already knows its output is unusable (a refusal, no tool call) passes an
    InvalidOutput as ``output``; it is raised here so it gets the same single repair.
    """
    if isinstance(output, InvalidOutput):
        raise output
    if isinstance(output, str | bytes):
        try:
            output = json.loads(output)
        except json.JSONDecodeError as exc:
            raise InvalidOutput(f"output is not valid JSON: {exc.msg} at position {exc.pos}") from None
    if output is None:
        raise InvalidOutput("no structured output was returned")
    try:
        return SessionAnalysis.model_validate(output)
    except ValidationError as exc:
        # include_input=False: the offending values may quote the transcript, which must not reach logs.
        lines = [
            f"{'.'.join(str(part) for part in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        ]
        raise InvalidOutput("; ".join(lines)[:MAX_ERROR_CHARS]) from None


def analyze_with_repair(
    attempt: AttemptFn, *, text: str, label: str, model: str, provider: str, prices: Mapping[str, Price]
) -> AnalysisResult:
    """Call, validate, repair at most once, enforce verbatim examples; usage summed over attempts."""
    started = time.monotonic()
    attempts = [attempt(None, None)]
    try:
        analysis = validate_output(attempts[0].output)
    except InvalidOutput as first:
        logger.warning("%s output failed validation, asking for one repair: %s", label, first)
        attempts.append(attempt(attempts[0], str(first)))
        try:
            analysis = validate_output(attempts[1].output)
        except InvalidOutput as second:
            raise PermanentError(
                f"{label} model {model!r} returned output that does not match the SessionAnalysis schema, "
                f"even after one repair attempt: {second}"
            ) from None
    tokens_in = sum(a.input_tokens for a in attempts)
    tokens_out = sum(a.output_tokens for a in attempts)
    usage = UsageCost(
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost_usd=estimate_cost(
            model, provider=provider, input_tokens=tokens_in, output_tokens=tokens_out, prices=prices
        ),
        latency_seconds=time.monotonic() - started,
        calls=len(attempts),
    )
    analysis, dropped = enforce_verbatim(analysis, text)
    if dropped:
        logger.warning("%s quoted %d example(s) not found in the transcript; dropped them", label, dropped)
    return AnalysisResult(analysis=analysis, usage=usage, dropped_examples=dropped)


def locate(example: str, text: str) -> str | None:
    """The exact span of ``text`` that ``example`` quotes, or None when it is not a quote.

    Tolerated: surrounding quote marks or ellipses, different whitespace, and straight versus curly
    quotes, which models change freely. The span returned is always a substring of ``text``.
    """
    if example and example in text:
        return example
    cleaned = example.strip(_DECORATION)
    if not cleaned:
        return None
    if cleaned in text:
        return cleaned
    words = ["".join(_EQUIVALENT.get(ch, re.escape(ch)) for ch in word) for word in cleaned.split()]
    match = re.search(r"\s+".join(words), text)
    return match.group(0) if match else None


def enforce_verbatim(analysis: SessionAnalysis, text: str) -> tuple[SessionAnalysis, int]:
    """The analysis with every example that is not a quote of ``text`` removed, and how many were."""
    dropped = 0
    insights = []
    for insight in analysis.insights:
        kept: list[str] = []
        for example in insight.examples:
            span = locate(example, text)
            if span is None:
                dropped += 1
            elif span not in kept:
                kept.append(span)
        insights.append(insight.model_copy(update={"examples": kept}))
    return analysis.model_copy(update={"insights": insights}), dropped
