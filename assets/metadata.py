"""Metadata builders: what analysts read about a session in the Dagster UI.

Text that comes from a learner or a model (transcript previews, summaries, examples) goes in as
plain text, table cells, or, in a session's report card, Markdown in which every ASCII punctuation
character is backslash-escaped (``escape_markdown``), so a transcript saying ``![x](http://evil/)``
shows those characters instead of loading an image, and no link, image or HTML from it renders.
"""

from __future__ import annotations

import base64
import string
from typing import TYPE_CHECKING, Any

import dagster as dg

from pipeline.domain.models import PatternProfile, SessionInsights, SessionStatus, Transcript, UsageCost
from pipeline.domain.quality import quality_flags
from pipeline.domain.taxonomy import LABELS

if TYPE_CHECKING:  # pandas loads when a chart or a view's table is built, not with the code location
    import pandas as pd

PREVIEW_CHARS = 600

#: Metadata as Dagster takes it: each value a ``MetadataValue`` or a plain value it wraps (its
#: ``RawMetadataValue``, which Dagster does not export).
Metadata = dict[str, Any]


def usage_metadata(usage: UsageCost, model: str) -> Metadata:
    """Tokens, time and the estimated cost, or ``cost_usd`` null with ``cost_unknown`` saying why."""
    if usage.cost_usd is None:
        cost: Metadata = {
            "cost_usd": dg.MetadataValue.null(),
            "cost_unknown": f"no price known for model {model!r}; set its price in PRICES_JSON",
        }
    else:
        cost = {"cost_usd": dg.MetadataValue.float(round(usage.cost_usd, 6))}
    return {
        **cost,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "latency_seconds": dg.MetadataValue.float(round(usage.latency_seconds, 3)),
        "provider_calls": usage.calls,
    }


def transcript_metadata(doc: Transcript) -> Metadata:
    preview = doc.text[:PREVIEW_CHARS] + ("…" if len(doc.text) > PREVIEW_CHARS else "")
    return {
        "learner_id": doc.learner_id,
        "preview": dg.MetadataValue.text(preview),
        "word_count": doc.word_count,
        # A text upload has no duration or pace: null, not a 0 that reads as a measurement.
        "duration_seconds": _number_or_null(doc.duration_seconds, 2),
        "words_per_minute": _number_or_null(doc.words_per_minute, 1),
        "language": doc.language,
        "source": doc.source,
        "provider": doc.provider,
        "model": doc.model,
        "audio_minutes": dg.MetadataValue.float(round(doc.usage.audio_seconds / 60, 3)),
        "audio_deleted_at": doc.audio_deleted_at.isoformat() if doc.audio_deleted_at else "kept",
        **quality_metadata(doc),
        **usage_metadata(doc.usage, doc.model),
    }


def _number(value: float | None, digits: int = 3) -> dg.FloatMetadataValue | None:
    return None if value is None else dg.MetadataValue.float(round(value, digits))


def _number_or_null(value: float | None, digits: int) -> dg.FloatMetadataValue | dg.NullMetadataValue:
    return dg.MetadataValue.null() if value is None else dg.MetadataValue.float(round(value, digits))


def quality_metadata(doc: Transcript) -> Metadata:
    """Speech share, confidence, decoded vs declared length, and ``quality_flags`` to read at a glance."""
    quality = doc.quality
    if quality is None:
        return {}
    flags = quality_flags(quality)
    values = {
        "quality_flags": "; ".join(flags) if flags else "ok",
        "speech_ratio": _number(quality.speech_ratio),
        "mean_logprob": _number(quality.mean_logprob),
        "no_speech_prob": _number(quality.no_speech_prob),
        "decoded_seconds": _number(quality.decoded_seconds, 2),
        "declared_seconds": _number(quality.declared_seconds, 2),
        "truncated": quality.truncated,
        "segment_count": len(doc.segments),
    }
    return {key: value for key, value in values.items() if value is not None}


def _table(rows: list[dict[str, str | int]]) -> dg.TableMetadataValue:
    """A UI table whose column types follow the values, so numeric columns sort as numbers."""
    columns = (
        [
            dg.TableColumn(name, "int" if isinstance(value, int) else "string")
            for name, value in rows[0].items()
        ]
        if rows
        else []
    )
    return dg.MetadataValue.table([dg.TableRecord(row) for row in rows], schema=dg.TableSchema(columns))


_PUNCTUATION = frozenset(string.punctuation)


def escape_markdown(text: str) -> str:
    """``text`` as Markdown that renders as exactly these characters, on one line.

    CommonMark lets any ASCII punctuation be backslash-escaped; escaping all of it leaves no
    emphasis, link, image, HTML tag, entity, code span or autolink (``http\\://``, ``www\\.``) to parse.
    """
    flat = " ".join(text.split())
    return "".join(f"\\{c}" if c in _PUNCTUATION else c for c in flat)


def report_card(doc: SessionInsights) -> dg.MarkdownMetadataValue:
    """The session at a glance: the focus and summary, then each pattern with every example and its fix."""
    analysis = doc.analysis
    lines = [
        f"**Focus next:** {escape_markdown(analysis.focus_next)}",
        "",
        escape_markdown(analysis.summary),
    ]
    for n, insight in enumerate(analysis.insights, 1):
        label = LABELS.get(insight.pattern_id, insight.pattern)
        lines += [
            "",
            f"#### {n}\\. {escape_markdown(label)}: {insight.frequency}× \\({insight.severity} severity\\)",
            "",
            escape_markdown(insight.detail),
            "",
        ]
        lines += [f"- “{escape_markdown(example)}”" for example in insight.examples]
        lines += ["", f"**Suggestion:** {escape_markdown(insight.suggestion)}"]
    return dg.MetadataValue.md("\n".join(lines))


def insights_metadata(doc: SessionInsights) -> Metadata:
    rows: list[dict[str, str | int]] = [
        {
            "pattern": LABELS.get(i.pattern_id, i.pattern),
            "pattern_id": i.pattern_id,
            "severity": i.severity,
            "frequency": i.frequency,
            "examples": len(i.examples),
        }
        for i in doc.analysis.insights
    ]
    return {
        "report_card": report_card(doc),
        "focus_next": dg.MetadataValue.text(doc.analysis.focus_next),
        "summary": dg.MetadataValue.text(doc.analysis.summary),
        "learner_id": doc.learner_id,
        "insights": _table(rows),
        "insight_count": len(doc.analysis.insights),
        "dropped_examples": doc.dropped_examples,
        "provider": doc.provider,
        "model": doc.model,
        "prompt_version": doc.prompt_version,
        **usage_metadata(doc.usage, doc.model),
    }


#: The profile's ``trend`` compares raw counts with the previous session only; the UI names it for what
#: it is, so it is never read as ``learner_progress.trend`` (rates per 100 words over windows).
VS_PREVIOUS = {"new": "new", "worsening": "more", "improving": "fewer", "steady": "same"}


def profile_metadata(doc: PatternProfile, refreshed: list[str], status: SessionStatus | None) -> Metadata:
    rows: list[dict[str, str | int]] = [
        {
            "pattern_id": p.pattern_id,
            "sessions": p.sessions,
            "total_frequency": p.total_frequency,
            "this_session": p.frequency_this_session,
            "vs_previous_session": VS_PREVIOUS[p.trend],
            "first_seen": p.first_seen.date().isoformat(),
        }
        for p in doc.patterns[:10]
    ]
    return {
        "learner_id": doc.learner_id,
        "as_of": doc.as_of.isoformat(),
        "sessions_count": doc.sessions_count,
        "top_patterns": _table(rows),
        "refreshed_later_snapshots": dg.MetadataValue.json(refreshed),
        "session_status": status.state.value if status else "unknown",
    }


_DTYPES = {"i": "int", "u": "int", "f": "float", "b": "bool", "M": "datetime"}


def frame_table(
    frame: pd.DataFrame, limit: int = 50, descriptions: dict[str, str] | None = None
) -> dg.TableMetadataValue:
    """The first ``limit`` rows of a view as a UI table (floats rounded for reading), its schema taken
    from the frame's dtypes and, when given, each column's description."""
    import pandas as pd

    from pipeline.views.columns import for_display

    described = descriptions or {}
    schema = dg.TableSchema(
        [
            dg.TableColumn(str(name), _DTYPES.get(dtype.kind, "string"), description=described.get(str(name)))
            for name, dtype in frame.dtypes.items()
        ]
    )
    frame = for_display(frame)
    head = frame.head(limit).astype(object).where(frame.head(limit).notna(), None)
    records = [
        dg.TableRecord(
            {str(k): (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in row.items()}
        )
        for row in head.to_dict("records")
    ]
    return dg.MetadataValue.table(records, schema=schema)


def chart_markdown(png: bytes | None, alt: str) -> dg.MarkdownMetadataValue:
    """A PNG embedded in markdown as a data URI (``alt`` is ours, never user text)."""
    if png is None:
        return dg.MetadataValue.md("_no data yet_")
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})")
