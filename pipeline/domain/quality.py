"""Transcript quality signals: computed from a recognizer's segments, and read as flags by analysts.

A transcript can be wrong in ways its text does not show: an upload cut off mid-way (the container
declares a minute, two seconds decode), a recording of a silent room, a recognizer guessing. These
numbers make that visible next to the transcript, in its document and its asset metadata.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.domain.models import TranscriptQuality, TranscriptSegment

# Every quality threshold, used alike by the transcript's flags (``quality_flags``, shown in its
# metadata and errors) and by the ``transcript_quality`` check (``pipeline.checks.evaluations``).

#: Decoded under this share of the declared duration: the upload was cut off (flag; check ERROR).
TRUNCATED_BELOW = 0.9
#: Under this share of speech, a recording is "near silent" (flag: a learner's session is mostly talk).
NEAR_SILENT_BELOW = 0.2
#: Under this share of speech there is no speech to judge at all (check ERROR, like zero words).
NO_SPEECH_BELOW = 0.1
#: Mean token log-probability under this: the recognizer was guessing (Whisper's ``logprob_threshold``;
#: flag; check WARN).
LOW_CONFIDENCE_BELOW = -1.0
#: No-speech probability above this: likely no speech (Whisper's ``no_speech_threshold``; check WARN).
LIKELY_NO_SPEECH_ABOVE = 0.6
#: A plausible speaking pace in words per minute (check WARN outside it)...
MIN_WPM, MAX_WPM = 40.0, 250.0
#: ...judged only over this much audio: a pace over a few seconds means nothing.
MIN_SECONDS_FOR_PACE = 20.0


def is_truncated(decoded_seconds: float, declared_seconds: float | None) -> bool:
    return bool(declared_seconds) and decoded_seconds < TRUNCATED_BELOW * float(declared_seconds or 0)


def _weighted_mean(values: list[tuple[float, float]]) -> float | None:
    """Mean of ``(value, weight)`` pairs; None without any weight."""
    total = sum(weight for _, weight in values)
    if total <= 0:
        return None
    return sum(value * weight for value, weight in values) / total


def summarise(
    segments: Sequence[TranscriptSegment],
    *,
    decoded_seconds: float,
    declared_seconds: float | None,
    speech_seconds: float | None,
) -> TranscriptQuality:
    """Quality of one transcript; segment means are weighted by duration, so a long segment counts more."""
    timed = [(s, max(s.end - s.start, 0.01)) for s in segments]
    logprob = _weighted_mean([(s.avg_logprob, w) for s, w in timed if s.avg_logprob is not None])
    no_speech = _weighted_mean([(s.no_speech_prob, w) for s, w in timed if s.no_speech_prob is not None])
    ratio = None
    if speech_seconds is not None and decoded_seconds > 0:
        ratio = min(1.0, speech_seconds / decoded_seconds)
    return TranscriptQuality(
        speech_ratio=None if ratio is None else round(ratio, 3),
        mean_logprob=None if logprob is None else round(logprob, 3),
        no_speech_prob=None if no_speech is None else round(no_speech, 3),
        decoded_seconds=round(decoded_seconds, 2),
        declared_seconds=None if declared_seconds is None else round(declared_seconds, 2),
        truncated=is_truncated(decoded_seconds, declared_seconds),
    )


def quality_flags(quality: TranscriptQuality | None) -> list[str]:
    """Short human-readable warnings; empty when nothing looks wrong (or nothing was measured)."""
    if quality is None:
        return []
    flags = []
    if quality.truncated:
        flags.append(
            f"truncated: the file declares {quality.declared_seconds:.1f} s but only "
            f"{quality.decoded_seconds:.1f} s decode"
        )
    if quality.speech_ratio is not None and quality.speech_ratio < NEAR_SILENT_BELOW:
        flags.append(f"near silent: {quality.speech_ratio:.0%} of the recording is speech")
    if quality.mean_logprob is not None and quality.mean_logprob < LOW_CONFIDENCE_BELOW:
        flags.append(f"low confidence: mean log-probability {quality.mean_logprob:.2f}")
    return flags
