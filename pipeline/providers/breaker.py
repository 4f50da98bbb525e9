"""A circuit breaker per provider and run, so an outage costs a few calls, not one per session.

Without it a batch of 50 sessions during a provider outage calls the provider 50 times (each up to
``PROVIDER_MAX_RETRIES + 1`` HTTP attempts of up to ``PROVIDER_TIMEOUT_SECONDS``), and the step's
RetryPolicy repeats all of that. After ``threshold`` consecutive transient failures the breaker
opens: the run's remaining sessions fail transiently at once, without a call. When the step is
retried (after the RetryPolicy's wait) the breaker lets one probe call through: if the provider is
back it closes and the batch proceeds, if not it opens again after that single call.

A run's sessions call the provider from several threads at once (``pipeline.stages.runner``). Until
a call has succeeded in this run, at most as many calls as the breaker still tolerates failures are
in flight, so an outage still costs ``threshold`` calls, not one per thread; after a success the
breaker lets every thread through (the shared budget, not the breaker, bounds the rate). A success
of another run counts too: while threads wait in the slow start, one of them asks the instance's
``provider_health`` record (``shared_health``) at most once a second, so a run that starts during a
burst other runs are already serving does not crawl at ``threshold`` calls until its own first answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from pipeline.domain.errors import TransientError

logger = logging.getLogger(__name__)

T = TypeVar("T")


class CircuitOpen(TransientError):
    """The provider was not called because it failed transiently too often in a row in this run."""


class CircuitBreaker:
    """Counts consecutive transient failures of one provider; a success resets the count."""

    def __init__(
        self,
        provider: str,
        threshold: int,
        *,
        healthy: bool = False,
        on_health: Callable[[bool], None] | None = None,
        shared_health: Callable[[], bool] | None = None,
        shared_every: float = 1.0,
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be >= 1")
        self.provider = provider
        self.threshold = threshold
        self.failures = 0
        self.calls = 0
        self.last_error = ""
        # A call succeeded since the last failure streak began (or, at the start, another run's did
        # recently: ``healthy``, from the instance's provider_health record, skips the slow start).
        self.healthy = healthy
        self._on_health = on_health  # told when this run finds the provider healthy, or failing
        self._shared_health = shared_health  # another run's recent success ends the slow start too
        self._shared_every = shared_every
        self._shared_checked = 0.0
        self._in_flight = 0
        self._cond = threading.Condition()

    @property
    def open(self) -> bool:
        return self.failures >= self.threshold

    def half_open(self) -> None:
        """Allow one probe call (at the start of a step retry): one more failure re-opens."""
        with self._cond:
            if self.open:
                self.failures = self.threshold - 1
                self.healthy = False
            self._cond.notify_all()

    def _enter(self) -> None:
        with self._cond:
            while True:
                if self.open:
                    raise CircuitOpen(
                        f"{self.provider} not called: it failed transiently {self.failures} times in a row "
                        f"in this run (last: {self.last_error}); the step's retry will probe it again"
                    )
                if self.healthy or self._in_flight < self.threshold - self.failures:
                    break
                if self._shared_healthy():
                    self.healthy = True
                    self._cond.notify_all()
                    break
                self._cond.wait(self._shared_every if self._shared_health is not None else None)
            self._in_flight += 1
            self.calls += 1

    def _shared_healthy(self) -> bool:
        """Whether another run found the provider answering since this run's failures (asked at most once a second)."""
        now = time.monotonic()
        if self._shared_health is None or now - self._shared_checked < self._shared_every:
            return False
        self._shared_checked = now
        try:
            return self._shared_health()
        except Exception as exc:  # the record only ends the slow start sooner
            logger.warning("could not read %s's health record: %s", self.provider, exc)
            return False

    def _leave(self, error: TransientError | None, succeeded: bool) -> None:
        with self._cond:
            self._in_flight -= 1
            changed: bool | None = None
            if error is not None:
                changed = False if self.failures == 0 else None
                self.failures += 1
                self.healthy = False
                self.last_error = error.message
                if self.open:
                    logger.warning(
                        "%s failed transiently %d times in a row: not calling it again in this attempt",
                        self.provider,
                        self.failures,
                    )
            elif succeeded:
                changed = True if not self.healthy else None
                self.failures = 0
                self.healthy = True
            self._cond.notify_all()
        if changed is not None and self._on_health is not None:
            try:
                self._on_health(changed)
            except Exception as exc:  # the record only speeds up the next run's start
                logger.warning("could not record %s's health: %s", self.provider, exc)

    def call(self, fn: Callable[[], T]) -> T:
        self._enter()
        try:
            result = fn()
        except TransientError as exc:
            self._leave(exc, False)
            raise
        except BaseException:
            self._leave(None, False)
            raise
        self._leave(None, True)
        return result
