"""A circuit breaker per provider and run, so an outage costs a few calls, not one per session.

Without it a batch of 50 sessions during a provider outage calls the provider 50 times (each up to
``PROVIDER_MAX_RETRIES + 1`` HTTP attempts of up to ``PROVIDER_TIMEOUT_SECONDS``), and the step's
RetryPolicy repeats all of that. After ``threshold`` consecutive transient failures the breaker
opens: the run's remaining sessions fail transiently at once, without a call. When the step is
retried (after the RetryPolicy's wait) the breaker lets one probe call through: if the provider is
back it closes and the batch proceeds, if not it opens again after that single call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from pipeline.domain.errors import TransientError

logger = logging.getLogger(__name__)

T = TypeVar("T")


class CircuitOpen(TransientError):
    """The provider was not called because it failed transiently too often in a row in this run."""


class CircuitBreaker:
    """Counts consecutive transient failures of one provider; a success resets the count."""

    def __init__(self, provider: str, threshold: int) -> None:
        if threshold < 1:
            raise ValueError("threshold must be >= 1")
        self.provider = provider
        self.threshold = threshold
        self.failures = 0
        self.calls = 0
        self.last_error = ""

    @property
    def open(self) -> bool:
        return self.failures >= self.threshold

    def half_open(self) -> None:
        """Allow one probe call (at the start of a step retry): one more failure re-opens."""
        if self.open:
            self.failures = self.threshold - 1

    def call(self, fn: Callable[[], T]) -> T:
        if self.open:
            raise CircuitOpen(
                f"{self.provider} not called: it failed transiently {self.failures} times in a row in "
                f"this run (last: {self.last_error}); the step's retry will probe it again"
            )
        self.calls += 1
        try:
            result = fn()
        except TransientError as exc:
            self.failures += 1
            self.last_error = exc.message
            if self.open:
                logger.warning(
                    "%s failed transiently %d times in a row: not calling it again in this attempt",
                    self.provider,
                    self.failures,
                )
            raise
        self.failures = 0
        return result
