"""The shared provider budget in Redis: slots, the rolling window, pauses, leases, priority, two processes at the fake API."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pipeline.config.limits import ProviderLimits
from pipeline.status.budget_redis import RedisProviderBudget
from tests.support.fake_api import FakeAPI
from tests.unit.providers.test_shared_budget import _result, _sessions, _start


def _budget(url: str, **limits: float) -> RedisProviderBudget:
    return RedisProviderBudget(url, {"anthropic": ProviderLimits(**limits)})  # type: ignore[arg-type]


def test_a_third_request_waits_for_a_free_slot_of_two(redis_db: str) -> None:
    budget = _budget(redis_db, concurrency=2)
    first, second = budget.acquire("anthropic"), budget.acquire("anthropic")
    assert first is not None and second is not None
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(budget.acquire("anthropic")))
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive() and not got, "no third slot while two are in flight"
    budget.release(first)
    waiter.join(10)
    assert got and got[0] is not None


def test_the_window_counts_requests_and_tokens(redis_db: str) -> None:
    budget = _budget(redis_db, concurrency=10, rpm=2, input_tpm=1000, window_seconds=1.0)
    limits = budget.limits["anthropic"]
    lease = budget.acquire("anthropic", input_tokens=100)
    assert lease is not None
    budget.release(lease, input_tokens=950, output_tokens=10)  # the answer said what it really used
    assert budget.attempt("anthropic", limits, "w", 0, 100) > 0, "input tokens: 950 + 100 > 1000"
    assert budget.attempt("anthropic", limits, "w", 0, 10) == 0, "a small request still fits"
    assert budget.attempt("anthropic", limits, "v", 0, 0) > 0, "two requests: the window is full"
    time.sleep(1.6)  # the window and its margin
    assert budget.attempt("anthropic", limits, "v", 0, 0) == 0


def test_a_429_pauses_every_caller_and_leases_of_a_crash_expire(redis_db: str) -> None:
    budget = _budget(redis_db, concurrency=1, lease_seconds=0.3)
    limits = budget.limits["anthropic"]
    lease = budget.acquire("anthropic")
    assert lease is not None
    budget.release(lease, retry_after=0.6)
    other = _budget(redis_db, concurrency=1, lease_seconds=0.3)  # another process
    assert other.attempt("anthropic", limits, "w", 0, 0) > 0.3
    time.sleep(0.7)
    assert other.acquire("anthropic") is not None  # never released: this run crashed
    assert budget.attempt("anthropic", limits, "w", 0, 0) > 0
    time.sleep(0.4)
    assert budget.attempt("anthropic", limits, "w", 0, 0) == 0


def test_a_higher_priority_waiter_is_served_first_and_health_is_shared(redis_db: str) -> None:
    budget = _budget(redis_db, concurrency=1)
    limits = budget.limits["anthropic"]
    held = budget.acquire("anthropic")
    assert held is not None
    assert budget.attempt("anthropic", limits, "live", 10, 0) > 0  # a live upload waits...
    budget.release(held)
    assert budget.attempt("anthropic", limits, "backfill", -1, 0) > 0, "...and the backfill lets it go first"
    assert budget.attempt("anthropic", limits, "live", 10, 0) == 0
    assert not budget.recently_healthy("anthropic")
    budget.record_health("anthropic", True)
    assert _budget(redis_db).recently_healthy("anthropic")
    budget.record_health("anthropic", False)
    assert not budget.recently_healthy("anthropic")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    with FakeAPI(latency=0.3, rpm=6, window=2.0) as server:
        yield server


def test_two_processes_never_exceed_the_limits_in_redis(tmp_path: Path, fake: FakeAPI, redis_db: str) -> None:
    limits = {"concurrency": 3, "rpm": 6, "window_seconds": 2.0}
    a, b = _sessions(tmp_path, "a", 6), _sessions(tmp_path, "b", 6)
    runs = [_start(tmp_path, fake, limits, keys, concurrency=8, budget_redis=redis_db) for keys in (a, b)]
    results = [_result(run) for run in runs]
    assert all(not r["failed"] for r in results)
    assert fake.paid_calls == 12
    assert fake.max_in_flight <= 3, "each process alone would have had 8 in flight"
    assert fake.rate_limited == 0, "the budget kept both under the account's rate"
