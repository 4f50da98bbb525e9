"""The plain objects a stage needs, built once per run by the Dagster resources."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from pipeline.config.settings import AudioRetention
from pipeline.domain.errors import PermanentError
from pipeline.providers.analysis import Analyzer
from pipeline.providers.breaker import CircuitBreaker
from pipeline.providers.gate import CallStats
from pipeline.providers.memo import Memo
from pipeline.providers.plan import CLOUD_PROVIDERS
from pipeline.providers.speech_to_text import SpeechToText
from pipeline.status.budget import ProviderBudget
from pipeline.status.budget_redis import RedisProviderBudget
from pipeline.status.store import StatusStore
from pipeline.storage import Storage

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
_cpu_slots: dict[int, threading.BoundedSemaphore] = {}  # per process and size: every run's threads share it
_cpu_guard = threading.Lock()


@contextmanager
def _cpu_slot(size: int) -> Iterator[None]:
    with _cpu_guard:
        slots = _cpu_slots.setdefault(size, threading.BoundedSemaphore(size))
    with slots:
        yield


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
    concurrency: int = 16  # sessions of one run going through their stages at once (RUN_CONCURRENCY)
    # the instance's shared provider budget, in the status database or Redis (None: unlimited)
    budget: ProviderBudget | RedisProviderBudget | None = None
    priority: int = 0  # the run's dagster/priority: the budget serves higher first
    calls: CallStats = field(default_factory=CallStats)  # this run's provider requests
    local_cpu: int = field(default_factory=lambda: os.cpu_count() or 1)  # LOCAL_CPU_CONCURRENCY
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # Called before each stage: returns if this process still owns the run, else stops it (the
    # Dagster layer fences attempts on Celery workers; a plain run has nobody to be fenced from).
    checkpoint: Callable[[], None] = field(default=lambda: None)

    @property
    def memo(self) -> Memo:
        return Memo(self.results)

    def breaker(self, provider: str) -> CircuitBreaker:
        """The run's circuit breaker for ``provider`` (one per provider name, shared by its stages)."""
        with self._lock:  # the run's sessions ask from several threads
            if provider not in self.breakers:
                budget = self.budget if provider in CLOUD_PROVIDERS else None
                self.breakers[provider] = CircuitBreaker(
                    provider,
                    self.breaker_threshold,
                    healthy=budget is not None and budget.recently_healthy(provider),
                    on_health=(lambda ok: budget.record_health(provider, ok)) if budget is not None else None,
                    shared_health=(lambda: budget.recently_healthy(provider)) if budget is not None else None,
                )
            return self.breakers[provider]

    def provider_slot(self, provider: str) -> Any:
        """Held around one provider call: a local (CPU) provider takes one of ``local_cpu`` slots.

        A cloud provider is bounded by the shared budget (``pipeline.providers.gate``); a local one by
        the cores, not a rate: more threads than cores would only slow every session down.
        """
        return nullcontext() if provider in CLOUD_PROVIDERS else _cpu_slot(self.local_cpu)

    def stored_result(self, session_id: str, key: str, model: type[M], what: str) -> M | None:
        """A stage's stored result, if any; an unreadable one is ignored, since the stage rewrites it."""
        try:
            return self.results.read_model(key, model)
        except FileNotFoundError:
            return None
        except PermanentError as exc:
            log.warning("session %s: recomputing the %s: %s", session_id, what, exc.message)
            return None
