"""hang_up: a terminated run's provider call in flight is hung up unpaid, and its retries are never sent."""

from __future__ import annotations

import threading
import time

from pipeline.domain.errors import TransientError
from pipeline.providers.analysis.anthropic_analyzer import AnthropicAnalyzer
from pipeline.providers.gate import CallStats, bound, hang_up
from tests.support.fake_api import FakeAPI


def test_a_call_in_flight_is_hung_up_and_not_retried() -> None:
    with FakeAPI(slow_seconds=60) as fake:
        fake.push("stall")  # the vendor keeps the request waiting, like a long analysis
        analyzer = AnthropicAnalyzer(
            api_key="sk-ant-test", base_url=fake.anthropic_base_url, timeout_seconds=120, max_retries=2
        )
        stats = CallStats()
        raised: list[BaseException] = []

        def call() -> None:
            with bound(None, 0, stats):
                try:
                    analyzer.analyze("I go to school yesterday.", language="en")
                except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
                    raised.append(exc)

        thread = threading.Thread(target=call)
        thread.start()
        deadline = time.monotonic() + 30
        while fake.stalled == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fake.stalled == 1
        assert hang_up(stats) >= 1
        thread.join(timeout=10)
        assert not thread.is_alive(), "the call did not end when hung up"
        assert len(raised) == 1 and isinstance(raised[0], TransientError)
        deadline = time.monotonic() + 5
        while not fake.calls and time.monotonic() < deadline:
            time.sleep(0.02)
        # The vendor saw the client leave (nothing paid) and no retry ever reached it.
        assert [(c["mode"], c["paid"]) for c in fake.calls] == [("stall", False)]
        assert fake.stalled == 1


def test_a_run_not_hung_up_calls_as_before() -> None:
    with FakeAPI() as fake:
        analyzer = AnthropicAnalyzer(api_key="sk-ant-test", base_url=fake.anthropic_base_url)
        with bound(None, 0, CallStats()):
            analyzer.analyze("I go to school yesterday.", language="en")
        assert fake.paid_calls == 1
