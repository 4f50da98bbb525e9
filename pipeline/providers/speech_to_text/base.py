"""The speech-to-text contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipeline.models import UsageCost


@dataclass(frozen=True)
class SpeechResult:
    text: str
    duration_seconds: float  # measured locally from the decoded audio, never taken from a provider
    usage: UsageCost = field(default_factory=UsageCost)


class SpeechToText(Protocol):
    """Turns one local audio file into text. Raises PermanentError or TransientError on failure."""

    name: str  # provider name recorded in results, e.g. "pocketsphinx", "openai"
    model: str

    def transcribe(self, audio: Path, *, language: str) -> SpeechResult: ...
