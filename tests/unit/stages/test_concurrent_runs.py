"""A run's sessions call the provider at once, each still ending on its own, with the memo and breaker intact."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.domain.models import SessionState
from pipeline.providers.analysis.anthropic_analyzer import AnthropicAnalyzer
from pipeline.stages.runner import STAGES, Stage, run_sessions
from pipeline.stages.services import Services
from tests.support.fake_api import FakeAPI
from tests.support.sessions import add_session

TEXT = "Yesterday I go to the market and I buy a apple. Um, it was very very good, you know."


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "anthropic-config"))
    with FakeAPI(latency=0.5) as server:
        yield server


def _cloud(services: Services, fake: FakeAPI, concurrency: int) -> Services:
    analyzer = AnthropicAnalyzer(api_key="sk-test", base_url=fake.anthropic_base_url, max_retries=0)
    return replace(services, analyzer=analyzer, concurrency=concurrency, run_id="run-1")


def _register(services: Services, learner: str, session: str) -> None:
    services.status.register(session, learner, media_key=None, uploaded_at=None)


def test_a_run_keeps_many_calls_in_flight_and_every_session_ends_done(
    services: Services, uploads_dir: Path, fake: FakeAPI
) -> None:
    services = _cloud(services, fake, concurrency=8)
    keys = [f"c{i}" for i in range(8)]
    for i, key in enumerate(keys):
        add_session(uploads_dir, f"l{i % 2}", key, text=f"{TEXT} Session {key}.")
        _register(services, f"l{i % 2}", key)
    events = list(run_sessions(services, keys, STAGES))
    assert all(e.ok for e in events)
    assert {(e.session_id, e.stage) for e in events} == {(k, s) for k in keys for s in STAGES}
    assert all(services.status.get(k).state is SessionState.DONE for k in keys)
    assert fake.paid_calls == 8
    assert fake.max_in_flight > 1, "the sessions' calls overlap"
    for key in keys:  # each session's own stages stay in order
        mine = [e.stage for e in events if e.session_id == key]
        assert mine == [Stage.TRANSCRIPT, Stage.INSIGHTS, Stage.PROFILE]


def test_concurrency_one_calls_one_at_a_time(services: Services, uploads_dir: Path, fake: FakeAPI) -> None:
    services = _cloud(services, fake, concurrency=1)
    for key in ("s1", "s2", "s3"):
        add_session(uploads_dir, "ana", key, text=f"{TEXT} Session {key}.")
    assert all(e.ok for e in run_sessions(services, ["s1", "s2", "s3"], STAGES))
    assert fake.max_in_flight == 1


def test_two_sessions_with_the_same_input_pay_once(
    services: Services, uploads_dir: Path, fake: FakeAPI
) -> None:
    services = _cloud(services, fake, concurrency=4)
    keys = ["d1", "d2", "d3", "d4"]
    for key in keys:
        add_session(uploads_dir, "ana", key, text=TEXT)  # the same transcript uploaded four times
    events = list(run_sessions(services, keys, STAGES))
    assert all(e.ok for e in events)
    assert fake.paid_calls == 1, "the others waited for the first call and reused its result"


def test_an_outage_under_concurrency_still_costs_k_calls(
    services: Services, uploads_dir: Path, fake: FakeAPI
) -> None:
    services = replace(_cloud(services, fake, concurrency=10), breaker_threshold=3)
    keys = [f"o{i}" for i in range(10)]
    for key in keys:
        add_session(uploads_dir, "ana", key, text=f"{TEXT} Session {key}.")
    fake.push(*["500"] * 100)
    events = list(run_sessions(services, keys, STAGES))
    assert {e.session_id for e in events if not e.ok} == set(keys)
    assert len(fake.calls) == 3


def test_closing_the_run_starts_no_new_stage(services: Services, uploads_dir: Path, fake: FakeAPI) -> None:
    services = _cloud(services, fake, concurrency=2)
    keys = [f"x{i}" for i in range(10)]
    for key in keys:
        add_session(uploads_dir, "ana", key, text=f"{TEXT} Session {key}.")
    events = run_sessions(services, keys, STAGES)
    next(events)  # the first stage event: the run is cancelled here
    events.close()  # waits for the calls in flight, starts nothing else
    assert len(fake.calls) <= 2, "only the calls already in flight were made"
    states = [services.status.get(k) for k in keys]
    assert sum(1 for s in states if s is not None and s.state is SessionState.DONE) == 0


def test_a_breaker_started_healthy_lets_every_thread_call_and_reports_a_failure() -> None:
    import threading

    from pipeline.domain.errors import TransientError
    from pipeline.providers.breaker import CircuitBreaker

    reports: list[bool] = []
    breaker = CircuitBreaker("anthropic", 3, healthy=True, on_health=reports.append)
    together = threading.Barrier(5, timeout=10)  # broken unless five calls are in flight at once
    threads = [threading.Thread(target=lambda: breaker.call(together.wait)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not together.broken and breaker.calls == 5

    def failing() -> None:
        raise TransientError("503")

    with pytest.raises(TransientError):
        breaker.call(failing)
    assert reports == [False] and not breaker.healthy
    breaker.call(lambda: None)
    assert reports == [False, True]


def test_another_runs_success_ends_the_slow_start() -> None:
    import threading

    from pipeline.providers.breaker import CircuitBreaker

    shared = threading.Event()  # the instance's provider_health record: another run got an answer
    breaker = CircuitBreaker("anthropic", 2, shared_health=shared.is_set, shared_every=0.05)
    together = threading.Barrier(5, timeout=10)  # broken unless five calls are in flight at once
    threads = [threading.Thread(target=lambda: breaker.call(together.wait)) for _ in range(5)]
    for thread in threads:
        thread.start()
    threads[0].join(0.3)
    assert breaker.calls == 2, "the slow start: at most threshold calls until a success"
    shared.set()
    for thread in threads:
        thread.join()
    assert not together.broken and breaker.calls == 5 and breaker.healthy


def test_unregistered_sessions_of_one_learner_get_one_profile_pass(
    services: Services, uploads_dir: Path, fake: FakeAPI
) -> None:
    """A run over sessions the sensor never registered (a backfill, `dg.materialize`) still groups
    them by learner: when the first session finishes last, no session's snapshot is written twice
    (CI saw 35 check evaluations for 33 when the sessions were profiled one pass each)."""
    services = _cloud(services, fake, concurrency=4)
    fake.slow_seconds = 1.5
    fake.push("slow")  # the first session's analysis finishes after the others'
    keys = ["u1", "u2", "u3", "u4"]
    for n, key in enumerate(keys):
        add_session(
            uploads_dir,
            "ana",
            key,
            text=f"{TEXT} Session {key}.",
            manifest=f'{{"recorded_at": "2026-01-0{n + 1}T09:00:00Z"}}',
        )
    events = list(run_sessions(services, keys, STAGES))
    profiles = [e for e in events if e.stage is Stage.PROFILE]
    assert all(e.ok for e in events) and {e.session_id for e in profiles} == set(keys)
    assert [e.refreshed for e in profiles] == [()] * 4, "one pass for the learner, nothing rewritten"
