"""What an analyst must be able to trust about a session, checked on the stored documents.

Each check takes the documents as plain JSON (what is stored), so a field the model does not
validate, or does not know yet, is still seen: an unknown pattern id, the transcript quality signals
(``quality``: speech_ratio, mean_logprob, no_speech_prob, decoded_seconds, declared_seconds,
truncated; else the per-segment ``avg_logprob`` / ``no_speech_prob``) where the speech-to-text
provider records them. A check never raises on a bad document:
it fails with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pipeline.domain.models import PatternProfile, SessionInsights
from pipeline.domain.quality import (
    LIKELY_NO_SPEECH_ABOVE,
    LOW_CONFIDENCE_BELOW,
    MAX_WPM,
    MIN_SECONDS_FOR_PACE,
    MIN_WPM,
    NO_SPEECH_BELOW,
    is_truncated,
)
from pipeline.domain.snapshots import build_profile, snapshot_digest
from pipeline.domain.taxonomy import PATTERN_IDS


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    severity: Literal["WARN", "ERROR"]
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def _number(mapping: Mapping[str, Any], name: str) -> float | None:
    value = mapping.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def transcript_quality(doc: Mapping[str, Any]) -> CheckOutcome:
    """Speech found, plausible pace, not truncated, recognizer confident: ERROR for the first and third."""
    quality: Mapping[str, Any] = doc.get("quality") or {}
    errors, warnings = [], []
    words = int(doc.get("word_count") or 0)
    speech_ratio = _number(quality, "speech_ratio")
    if words == 0 or (speech_ratio is not None and speech_ratio < NO_SPEECH_BELOW):
        errors.append(f"no speech found ({words} words, speech ratio {speech_ratio})")
    declared, decoded = _number(quality, "declared_seconds"), _number(quality, "decoded_seconds")
    if quality.get("truncated") is True or (decoded is not None and is_truncated(decoded, declared)):
        errors.append(f"truncated: decoded {decoded} s of a declared {declared} s")
    duration = _number(doc, "duration_seconds")
    wpm = _number(doc, "words_per_minute")
    if wpm is None and duration:
        wpm = words / (duration / 60)
    if (
        wpm is not None
        and duration is not None
        and duration >= MIN_SECONDS_FOR_PACE
        and not MIN_WPM <= wpm <= MAX_WPM
    ):
        warnings.append(
            f"implausible pace: {wpm:.0f} words per minute (expected {MIN_WPM:.0f}-{MAX_WPM:.0f}): "
            "mostly silence, a truncated transcript, or a wrong duration"
        )
    logprob, no_speech = _number(quality, "mean_logprob"), _number(quality, "no_speech_prob")
    segments = [seg for seg in doc.get("segments") or [] if isinstance(seg, Mapping)]
    if logprob is None:
        logprob = _mean(_number(seg, "avg_logprob") for seg in segments)
    if no_speech is None:
        no_speech = _mean(_number(seg, "no_speech_prob") for seg in segments)
    if logprob is not None and logprob < LOW_CONFIDENCE_BELOW:
        warnings.append(
            f"low recognizer confidence: mean log-probability {logprob:.2f} < {LOW_CONFIDENCE_BELOW}"
        )
    if no_speech is not None and no_speech > LIKELY_NO_SPEECH_ABOVE:
        warnings.append(f"likely no speech: no-speech probability {no_speech:.2f} > {LIKELY_NO_SPEECH_ABOVE}")
    metadata = {
        "word_count": words,
        "words_per_minute": round(wpm, 1) if wpm is not None else None,
        "duration_seconds": duration,
        "quality_signals": bool(quality),
        "speech_ratio": speech_ratio,
        "mean_logprob": logprob,
        "no_speech_prob": no_speech,
        "declared_seconds": declared,
        "decoded_seconds": decoded,
    }
    problems = errors + warnings
    if not problems:
        return CheckOutcome(True, "ERROR", "speech found, plausible pace, not truncated", metadata)
    return CheckOutcome(False, "ERROR" if errors else "WARN", "; ".join(problems), metadata)


def insights_grounded(doc: Mapping[str, Any], transcript_text: str) -> CheckOutcome:
    """Every example is a verbatim quote of the transcript and every pattern id is in the taxonomy."""
    insights = (doc.get("analysis") or {}).get("insights") or []
    unknown = sorted({str(i.get("pattern_id")) for i in insights if i.get("pattern_id") not in PATTERN_IDS})
    ungrounded = [
        {"pattern_id": str(i.get("pattern_id")), "example": str(example)}
        for i in insights
        for example in i.get("examples") or []
        if str(example) not in transcript_text
    ]
    examples = sum(len(i.get("examples") or []) for i in insights)
    metadata = {
        "insights": len(insights),
        "examples": examples,
        "ungrounded_examples": ungrounded,
        "unknown_pattern_ids": unknown,
    }
    problems = []
    if ungrounded:
        problems.append(f"{len(ungrounded)} of {examples} example(s) are not verbatim in the transcript")
    if unknown:
        problems.append(f"pattern id(s) outside the taxonomy: {', '.join(unknown)}")
    if not problems:
        return CheckOutcome(
            True, "ERROR", f"{examples} example(s) verbatim, {len(insights)} pattern id(s) known", metadata
        )
    return CheckOutcome(False, "ERROR", "; ".join(problems), metadata)


def profile_consistent(stored: PatternProfile, analyses: Sequence[SessionInsights]) -> CheckOutcome:
    """The stored snapshot equals the one recomputed from the learner's stored insights."""
    try:
        expected = build_profile(stored.learner_id, stored.session_id, analyses)
    except KeyError as exc:
        return CheckOutcome(False, "ERROR", f"cannot recompute: {exc.args[0]}", {})
    if snapshot_digest(expected) == snapshot_digest(stored):
        return CheckOutcome(
            True,
            "ERROR",
            f"equals the recomputation over {expected.sessions_count} session(s)",
            {"sessions": expected.sessions_count},
        )
    mine = {p.pattern_id: p.model_dump(mode="json") for p in stored.patterns}
    theirs = {p.pattern_id: p.model_dump(mode="json") for p in expected.patterns}
    differing = sorted(pid for pid in mine.keys() | theirs.keys() if mine.get(pid) != theirs.get(pid))
    metadata = {
        "differing_patterns": differing,
        "stored_sessions": stored.session_ids,
        "recomputed_sessions": expected.session_ids,
    }
    what = f"pattern(s) {', '.join(differing)}" if differing else "its session list or dates"
    return CheckOutcome(
        False,
        "ERROR",
        f"stored snapshot differs from the recomputation from stored insights in {what}: "
        "re-materialize pattern_profile for this session",
        metadata,
    )
