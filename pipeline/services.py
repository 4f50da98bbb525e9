"""The plain objects a stage needs, built once per run by the Dagster resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pipeline.breaker import CircuitBreaker
from pipeline.memo import Memo
from pipeline.providers.analysis import Analyzer
from pipeline.providers.speech_to_text import SpeechToText
from pipeline.status import StatusStore
from pipeline.storage import Storage

AudioRetention = Literal["keep", "delete_after_transcription"]


@dataclass
class Services:
    uploads: Storage
    results: Storage
    status: StatusStore
    speech_to_text: SpeechToText
    analyzer: Analyzer
    audio_retention: AudioRetention = "keep"
    breaker_threshold: int = 3
    run_id: str | None = None  # the Dagster run using these services, recorded with each state change
    breakers: dict[str, CircuitBreaker] = field(default_factory=dict)

    @property
    def memo(self) -> Memo:
        return Memo(self.results)

    def breaker(self, provider: str) -> CircuitBreaker:
        """The run's circuit breaker for ``provider`` (one per provider name, shared by its stages)."""
        if provider not in self.breakers:
            self.breakers[provider] = CircuitBreaker(provider, self.breaker_threshold)
        return self.breakers[provider]


def transcript_key(session_id: str) -> str:
    return f"transcripts/{session_id}.json"


def insights_key(session_id: str) -> str:
    return f"insights/{session_id}.json"


def profile_key(session_id: str) -> str:
    return f"pattern_profiles/{session_id}.json"
