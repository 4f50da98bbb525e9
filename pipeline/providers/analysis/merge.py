"""One SessionAnalysis from the analyses of the parts of a transcript too long for one request.

The merge is deterministic, with no further model call: a summary of summaries would cost another
request (and another way to fail) without seeing more of the transcript than the parts did, and
everything a learner acts on (patterns, counts, quotes, the focus) is already in the parts.
Each pattern keeps the words of the part where it weighed most; its frequency is the sum over
parts, its severity the highest any part gave, its examples verbatim quotes taken in turn from
each part (at most 5). The top patterns by frequency x severity weight are kept, as a single
request would have ranked them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain, zip_longest

from pipeline.domain.models import Insight, PatternCount, SessionAnalysis, UsageCost
from pipeline.domain.taxonomy import PATTERN_IDS, SEVERITY_WEIGHT
from pipeline.providers.analysis.base import AnalysisResult

MAX_INSIGHTS = 5
MAX_EXAMPLES = 5
MAX_FREQUENCY = 10_000
_FOCUS_CHARS, _SUMMARY_CHARS = 600, 1500


def weight(insight: Insight) -> int:
    return insight.frequency * SEVERITY_WEIGHT[insight.severity]


def _rank_key(insight: Insight) -> tuple[int, int, int]:
    """Frequency x severity weight, then severity, then taxonomy order: deterministic."""
    return (-weight(insight), -SEVERITY_WEIGHT[insight.severity], PATTERN_IDS.index(insight.pattern_id))


def merge_insights(found: Sequence[Insight]) -> Insight:
    """One insight from the same pattern found in several parts (in part order)."""
    lead = max(found, key=weight)  # first of the heaviest: its label, detail and advice speak for all
    examples: list[str] = []
    for example in chain.from_iterable(zip_longest(*(i.examples for i in found))):
        if example is not None and example not in examples:
            examples.append(example)
    return lead.model_copy(
        update={
            "frequency": min(sum(i.frequency for i in found), MAX_FREQUENCY),
            "severity": max((i.severity for i in found), key=SEVERITY_WEIGHT.__getitem__),
            "examples": examples[:MAX_EXAMPLES],
        }
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def merge_analyses(analyses: Sequence[SessionAnalysis], *, model: str) -> SessionAnalysis:
    """The analysis of the whole transcript from the analyses of its parts, in transcript order."""
    by_pattern: dict[str, list[Insight]] = {}
    for analysis in analyses:
        for insight in analysis.insights:
            by_pattern.setdefault(insight.pattern_id, []).append(insight)
    ranked = sorted((merge_insights(found) for found in by_pattern.values()), key=_rank_key)
    top = ranked[:MAX_INSIGHTS]
    # The focus a part chose for the pattern that leads overall, else that pattern's own advice.
    focus = next((a.focus_next for a in analyses if a.insights[0].pattern_id == top[0].pattern_id), None)
    listed = ", ".join(f"{i.pattern.lower()} ({i.frequency}x)" for i in top[:3])
    summary = (
        f"This session's transcript is longer than the context window of {model}, so it was analysed "
        f"in {len(analyses)} parts and the findings merged: frequencies are summed over the parts. "
        f"The patterns that weigh most across the whole session: {listed}."
    )
    counts: dict[str, int] = {}
    for analysis in analyses:
        for found in analysis.pattern_counts or [
            PatternCount(pattern_id=i.pattern_id, count=i.frequency) for i in analysis.insights
        ]:
            counts[found.pattern_id] = counts.get(found.pattern_id, 0) + found.count
    return SessionAnalysis(
        insights=top,
        focus_next=_clip(focus or top[0].suggestion, _FOCUS_CHARS),
        summary=_clip(summary, _SUMMARY_CHARS),
        pattern_counts=[
            PatternCount(pattern_id=pid, count=min(n, MAX_FREQUENCY))  # type: ignore[arg-type]
            for pid, n in counts.items()
        ],
    )


def total_cost(costs: Iterable[float | None]) -> float | None:
    """The sum of the parts' costs, or None (unknown) when any part's is."""
    known = list(costs)
    return None if any(c is None for c in known) else round(sum(c or 0.0 for c in known), 8)


def merge_results(results: Sequence[AnalysisResult], *, model: str) -> AnalysisResult:
    """``merge_analyses`` of the parts, with their usage (tokens, cost, calls, time) summed."""
    usages = [r.usage for r in results]
    usage = UsageCost(
        input_tokens=sum(u.input_tokens for u in usages),
        output_tokens=sum(u.output_tokens for u in usages),
        cost_usd=total_cost(u.cost_usd for u in usages),
        latency_seconds=sum(u.latency_seconds for u in usages),
        calls=sum(u.calls for u in usages),
    )
    return AnalysisResult(
        analysis=merge_analyses([r.analysis for r in results], model=model),
        usage=usage,
        dropped_examples=sum(r.dropped_examples for r in results),
    )
