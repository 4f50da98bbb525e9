"""Transcript quality signals: the summary and flags, and what the transcript stage stores and reports."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.domain.documents import transcript_key
from pipeline.domain.errors import PermanentError
from pipeline.domain.models import Transcript, TranscriptQuality, TranscriptSegment
from pipeline.domain.quality import quality_flags, summarise
from pipeline.stages.services import Services
from pipeline.stages.transcript import transcribe_session
from tests.support.sessions import add_session
from tests.unit.stages.test_stages import Counting


def segment(start: float, end: float, logprob: float, no_speech: float) -> TranscriptSegment:
    return TranscriptSegment(start=start, end=end, text="x", avg_logprob=logprob, no_speech_prob=no_speech)


def test_means_are_weighted_by_duration_and_truncation_is_decoded_under_90_percent() -> None:
    quality = summarise(
        [segment(0, 9, -0.2, 0.1), segment(9, 10, -1.2, 0.5)],
        decoded_seconds=20.0,
        declared_seconds=23.0,
        speech_seconds=10.0,
    )
    assert (quality.mean_logprob, quality.no_speech_prob, quality.speech_ratio) == (-0.3, 0.14, 0.5)
    assert quality.truncated and quality_flags(quality) == [
        "truncated: the file declares 23.0 s but only 20.0 s decode"
    ]
    assert not summarise([], decoded_seconds=20.8, declared_seconds=23.0, speech_seconds=0.0).truncated
    assert not summarise([], decoded_seconds=5.0, declared_seconds=None, speech_seconds=None).truncated


def test_flags_name_a_near_silent_or_unsure_recording() -> None:
    quality = TranscriptQuality(speech_ratio=0.05, mean_logprob=-1.4, decoded_seconds=60.0)
    assert quality_flags(quality) == [
        "near silent: 5% of the recording is speech",
        "low confidence: mean log-probability -1.40",
    ]
    assert quality_flags(TranscriptQuality(speech_ratio=0.9, mean_logprob=-0.2)) == []
    assert quality_flags(None) == []


def test_a_document_written_before_the_signals_still_loads() -> None:
    old = {
        "session_id": "s",
        "learner_id": "l",
        "text": "hi",
        "source": "audio",
        "recorded_at": "2026-01-01T00:00:00Z",
        "word_count": 1,
        "provider": "pocketsphinx",
        "model": "en-us",
        "input_sha256": "0" * 64,
    }
    doc = Transcript.model_validate(old)
    assert doc.segments == [] and doc.quality is None


def test_the_stored_transcript_carries_segments_and_quality_also_from_the_memo(
    services: Services, uploads_dir: Path
) -> None:
    stt = Counting(services.speech_to_text)
    services = replace(services, speech_to_text=stt)
    add_session(uploads_dir, "ana", "t1", audio="truncated.webm")
    first = transcribe_session(services, "t1")
    assert first.quality is not None and first.quality.truncated and first.segments
    assert first.segments[0].start < first.segments[-1].end <= first.duration_seconds + 0.5
    services.results.delete(transcript_key("t1"))  # recomputed: the memoized recognition is reused
    again = transcribe_session(services, "t1")
    assert stt.calls == 1
    assert (again.segments, again.quality) == (first.segments, first.quality)


def test_a_silent_recording_fails_with_its_signals_in_the_message(
    services: Services, uploads_dir: Path
) -> None:
    add_session(uploads_dir, "ana", "quiet1", audio="noise.webm")
    with pytest.raises(
        PermanentError, match=r"no speech was recognised .*6\.0 s decoded: near silent: 0%"
    ) as exc:
        transcribe_session(services, "quiet1")
    assert exc.value.session_id == "quiet1"
