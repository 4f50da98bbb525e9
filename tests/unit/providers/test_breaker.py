"""The per-provider circuit breaker: a provider outage costs a few calls per run, not one per session."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.domain.errors import TransientError
from pipeline.domain.models import SessionState
from pipeline.providers.analysis.anthropic_analyzer import AnthropicAnalyzer
from pipeline.providers.breaker import CircuitBreaker, CircuitOpen
from pipeline.stages.runner import STAGES, run_sessions
from pipeline.stages.services import Services
from tests.support.fake_api import FakeAPI
from tests.support.sessions import add_session

TEXT = "Yesterday I go to the market and I buy a apple. Um, it was very very good, you know."


def test_breaker_opens_after_k_consecutive_transient_failures_and_probes_once_on_retry() -> None:
    breaker = CircuitBreaker("anthropic", threshold=2)
    calls = []

    def failing() -> None:
        calls.append(1)
        raise TransientError("503")

    for _ in range(2):
        with pytest.raises(TransientError):
            breaker.call(failing)
    with pytest.raises(CircuitOpen, match="not called"):
        breaker.call(failing)
    assert len(calls) == 2
    breaker.half_open()
    with pytest.raises(TransientError):
        breaker.call(failing)  # the probe
    with pytest.raises(CircuitOpen):
        breaker.call(failing)
    assert len(calls) == 3
    breaker.half_open()
    assert breaker.call(lambda: "ok") == "ok" and breaker.failures == 0


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "anthropic-config"))
    with FakeAPI() as server:
        yield server


def test_an_outage_costs_k_calls_per_attempt_for_a_batch_of_ten(
    services: Services, uploads_dir: Path, fake: FakeAPI
) -> None:
    analyzer = AnthropicAnalyzer(api_key="sk-test", base_url=fake.anthropic_base_url, max_retries=0)
    services = replace(services, analyzer=analyzer, breaker_threshold=3, run_id="run-1")
    keys = [f"o{i}" for i in range(10)]
    for key in keys:
        add_session(uploads_dir, "ana", key, text=f"{TEXT} Session {key}.")
    fake.push(*["500"] * 100)  # a complete outage: every request answers 500
    events = list(run_sessions(services, keys, STAGES))
    failed = {e.session_id for e in events if not e.ok}
    assert failed == set(keys) and len(fake.calls) == 3, "K calls, then the rest fail without a call"
    assert all(services.status.get(k).error_kind == "transient" for k in keys)
    # The sessions run concurrently: which three made the calls varies, the other seven were not called.
    assert sum("not called" in (services.status.get(k).error or "") for k in keys) == 7

    # The step's retry, after the outage: one probe closes the breaker and the batch completes.
    fake.clear()  # the outage is over: every request answers 200
    services.breaker(analyzer.name).half_open()
    events = list(run_sessions(services, keys, STAGES))
    assert all(e.ok for e in events) and len(fake.calls) == 3 + 10
    assert all(services.status.get(k).state is SessionState.DONE for k in keys)
