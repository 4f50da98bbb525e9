"""The shared provider budget on PostgreSQL: two engines (two processes' worth) never exceed the slots."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from pipeline.config.limits import ProviderLimits
from pipeline.status.budget import ProviderBudget
from pipeline.status.store import StatusStore


def test_two_instances_share_the_slots_and_the_pause(fresh_database: str) -> None:
    limits = {"anthropic": ProviderLimits(concurrency=3, rpm=1000)}
    budgets = [ProviderBudget(StatusStore(fresh_database).engine, limits) for _ in range(2)]
    in_flight = 0
    most = 0
    lock = threading.Lock()

    def one(i: int) -> None:
        nonlocal in_flight, most
        budget = budgets[i % 2]
        lease = budget.acquire("anthropic", priority=i % 3)
        assert lease is not None
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.05)
        with lock:
            in_flight -= 1
        budget.release(lease, input_tokens=10, output_tokens=5)

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(one, range(24)))
    assert most <= 3, "the advisory lock serialises the decisions of both engines"

    lease = budgets[0].acquire("anthropic")
    assert lease is not None
    budgets[0].release(lease, retry_after=5.0)
    assert budgets[1].attempt("anthropic", limits["anthropic"], "w", 0, 0) > 3, "the 429 paused the other"
