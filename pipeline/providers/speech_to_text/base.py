"""The speech-to-text contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipeline.domain.models import TranscriptQuality, TranscriptSegment, UsageCost
from pipeline.providers.memo import ChunkCache, call_with_cache


@dataclass(frozen=True)
class SpeechResult:
    text: str
    duration_seconds: float  # measured locally from the decoded audio, never taken from a provider
    usage: UsageCost = field(default_factory=UsageCost)
    segments: tuple[TranscriptSegment, ...] = ()  # with times in the recording, where the provider gives them
    quality: TranscriptQuality | None = None


class SpeechToText(Protocol):
    """Turns one local audio file into text. Raises PermanentError or TransientError on failure."""

    name: str  # provider name recorded in results, e.g. "faster-whisper", "openai"
    model: str

    def transcribe(self, audio: Path, *, language: str) -> SpeechResult: ...


def transcribe_audio(
    stt: SpeechToText, audio: Path, *, language: str, chunk_cache: ChunkCache | None = None
) -> SpeechResult:
    """``stt.transcribe``, handing ``chunk_cache`` to providers that take one (those paying per chunk)."""
    return call_with_cache(stt.transcribe, chunk_cache, audio, language=language)
