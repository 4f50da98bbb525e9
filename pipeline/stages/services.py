"""The plain objects a stage needs, built once per run by the Dagster resources."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel

from pipeline.config.settings import AudioRetention
from pipeline.domain.errors import PermanentError
from pipeline.providers.analysis import Analyzer
from pipeline.providers.breaker import CircuitBreaker
from pipeline.providers.memo import Memo
from pipeline.providers.speech_to_text import SpeechToText
from pipeline.status.store import StatusStore
from pipeline.storage import Storage

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


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
    # Called before each stage: returns if this process still owns the run, else stops it (the
    # Dagster layer fences attempts on Celery workers; a plain run has nobody to be fenced from).
    checkpoint: Callable[[], None] = field(default=lambda: None)

    @property
    def memo(self) -> Memo:
        return Memo(self.results)

    def breaker(self, provider: str) -> CircuitBreaker:
        """The run's circuit breaker for ``provider`` (one per provider name, shared by its stages)."""
        if provider not in self.breakers:
            self.breakers[provider] = CircuitBreaker(provider, self.breaker_threshold)
        return self.breakers[provider]

    def stored_result(self, session_id: str, key: str, model: type[M], what: str) -> M | None:
        """A stage's stored result, if any; an unreadable one is ignored, since the stage rewrites it."""
        try:
            return self.results.read_model(key, model)
        except FileNotFoundError:
            return None
        except PermanentError as exc:
            log.warning("session %s: recomputing the %s: %s", session_id, what, exc.message)
            return None
