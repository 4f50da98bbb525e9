"""The shared provider budget in the status database: slots, the rolling window, pauses, leases, priority."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pipeline.config.limits import DEFAULT_LIMITS, ProviderLimits, parse_limits
from pipeline.config.settings import ConfigError
from pipeline.status.budget import ProviderBudget
from pipeline.status.store import StatusStore


def _budget(tmp_path: Path, **limits: float) -> ProviderBudget:
    store = StatusStore(f"sqlite:///{tmp_path}/status.db")
    return ProviderBudget(store.engine, {"anthropic": ProviderLimits(**limits)})  # type: ignore[arg-type]


def test_a_third_request_waits_for_a_free_slot_of_two(tmp_path: Path) -> None:
    budget = _budget(tmp_path, concurrency=2)
    first = budget.acquire("anthropic")
    second = budget.acquire("anthropic")
    assert first is not None and second is not None
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(budget.acquire("anthropic")))
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive() and not got, "no third slot while two are in flight"
    budget.release(first)
    waiter.join(10)
    assert got and got[0] is not None


def test_requests_per_window_then_room_when_the_oldest_leaves(tmp_path: Path) -> None:
    budget = _budget(tmp_path, concurrency=10, rpm=2, window_seconds=1.0)
    for _ in range(2):
        lease = budget.acquire("anthropic")
        assert lease is not None
        budget.release(lease)
    assert budget.attempt("anthropic", budget.limits["anthropic"], "w", 0, 0) > 0, "the window is full"
    time.sleep(1.6)  # the window and its margin
    assert budget.attempt("anthropic", budget.limits["anthropic"], "w", 0, 0) == 0


def test_input_tokens_per_minute_bound_requests(tmp_path: Path) -> None:
    budget = _budget(tmp_path, concurrency=10, input_tpm=1000)
    lease = budget.acquire("anthropic", input_tokens=100)
    assert lease is not None
    budget.release(lease, input_tokens=950, output_tokens=10)  # the answer said what it really used
    assert budget.attempt("anthropic", budget.limits["anthropic"], "w", 0, 100) > 0


def test_a_429_pauses_every_caller_until_retry_after(tmp_path: Path) -> None:
    budget = _budget(tmp_path, concurrency=10)
    lease = budget.acquire("anthropic")
    assert lease is not None
    budget.release(lease, retry_after=0.6)
    other = ProviderBudget(
        StatusStore(f"sqlite:///{tmp_path}/status.db").engine, budget.limits
    )  # another process
    assert other.attempt("anthropic", budget.limits["anthropic"], "w", 0, 0) > 0.3
    time.sleep(0.7)
    assert other.attempt("anthropic", budget.limits["anthropic"], "w", 0, 0) == 0


def test_a_crashed_runs_leases_expire(tmp_path: Path) -> None:
    budget = _budget(tmp_path, concurrency=1, lease_seconds=0.3)
    assert budget.acquire("anthropic") is not None  # never released: the run crashed
    assert budget.attempt("anthropic", budget.limits["anthropic"], "w", 0, 0) > 0
    time.sleep(0.4)
    assert budget.attempt("anthropic", budget.limits["anthropic"], "w", 0, 0) == 0


def test_a_higher_priority_waiter_is_served_first(tmp_path: Path) -> None:
    budget = _budget(tmp_path, concurrency=1)
    limits = budget.limits["anthropic"]
    held = budget.acquire("anthropic")
    assert held is not None
    assert budget.attempt("anthropic", limits, "live", 10, 0) > 0  # a live upload waits...
    budget.release(held)
    assert budget.attempt("anthropic", limits, "backfill", -1, 0) > 0, "...and the backfill lets it go first"
    assert budget.attempt("anthropic", limits, "live", 10, 0) == 0
    assert budget.attempt("anthropic", limits, "backfill", -1, 0) > 0  # the slot is taken now


def test_unconfigured_providers_are_not_limited(tmp_path: Path) -> None:
    assert _budget(tmp_path).acquire("someone-else") is None


def test_limits_json_overrides_the_defaults_per_field() -> None:
    limits = parse_limits('{"anthropic": {"concurrency": 50, "rpm": 1000}}')
    assert limits["anthropic"].concurrency == 50 and limits["anthropic"].rpm == 1000
    assert limits["anthropic"].input_tpm == DEFAULT_LIMITS["anthropic"].input_tpm
    assert limits["openai"] == DEFAULT_LIMITS["openai"]
    with pytest.raises(ConfigError, match="keys among"):
        parse_limits('{"anthropic": {"rmp": 10}}')
    with pytest.raises(ConfigError, match="positive"):
        parse_limits('{"anthropic": {"rpm": 0}}')


def test_the_health_record_lets_the_next_run_skip_the_slow_start(tmp_path: Path) -> None:
    budget = _budget(tmp_path)
    assert not budget.recently_healthy("anthropic")
    budget.record_health("anthropic", True)
    assert budget.recently_healthy("anthropic")
    budget.record_health("anthropic", False)  # a run met a failure: the next ones ramp up again
    assert not budget.recently_healthy("anthropic")
