"""Two runs in two processes share one budget per provider: measured at the fake API, never above it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.fake_api import FakeAPI
from tests.support.sessions import add_session

TEXT = "Yesterday I go to the market and I buy a apple. Um, it was very very good, you know."
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    with FakeAPI(latency=0.3, rpm=6, window=2.0) as server:
        yield server


def _start(
    tmp_path: Path, fake: FakeAPI, limits: dict[str, object], sessions: list[str], **opts: object
) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ANTHROPIC_CONFIG_DIR": str(tmp_path / "anthropic-config")}
    env.pop("ANTHROPIC_BASE_URL", None)
    command = [
        sys.executable, "-m", "tests.support.budget_worker",
        "--status-db", f"sqlite:///{tmp_path}/status.db",
        "--uploads", str(tmp_path / "uploads"), "--results", str(tmp_path / "results"),
        "--base-url", fake.anthropic_base_url, "--limits", json.dumps({"anthropic": limits}),
    ]  # fmt: skip
    for name, value in opts.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    return subprocess.Popen([*command, *sessions], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen[str]) -> dict[str, object]:
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0
    return dict(json.loads(out.strip().splitlines()[-1]))


def _sessions(tmp_path: Path, prefix: str, count: int) -> list[str]:
    keys = [f"{prefix}{i}" for i in range(count)]
    for key in keys:
        add_session(tmp_path / "uploads", f"learner-{prefix}", key, text=f"{TEXT} Session {key}.")
    return keys


def test_two_processes_never_exceed_the_shared_limits(tmp_path: Path, fake: FakeAPI) -> None:
    limits = {"concurrency": 3, "rpm": 6, "window_seconds": 2.0}
    a, b = _sessions(tmp_path, "a", 6), _sessions(tmp_path, "b", 6)
    runs = [
        _start(tmp_path, fake, limits, a, concurrency=8),
        _start(tmp_path, fake, limits, b, concurrency=8),
    ]
    results = [_result(run) for run in runs]
    assert all(not r["failed"] for r in results)
    assert fake.paid_calls == 12
    assert fake.max_in_flight <= 3, "each process alone would have had 8 in flight"
    assert fake.rate_limited == 0, "the budget kept both under the account's rate"
    assert sum(float(r["waited"]) for r in results) > 0


def test_a_429_in_one_process_pauses_the_other(tmp_path: Path) -> None:
    with FakeAPI(latency=0.3, rpm=6, window=8.0) as fake:
        _pause_test(tmp_path, fake)


def _pause_test(tmp_path: Path, fake: FakeAPI) -> None:
    limits = {"concurrency": 10, "rpm": 100, "window_seconds": 8.0}  # set above the account's 6 per 8 s
    first = _start(tmp_path, fake, limits, _sessions(tmp_path, "a", 7), concurrency=7, max_retries=0)
    deadline = time.monotonic() + 60
    while fake.rate_limited == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    # The other run starts while the first's 429 still pauses the provider (not after the first
    # exits: on a loaded machine a process start can outlast the whole retry-after).
    second = _start(tmp_path, fake, limits, _sessions(tmp_path, "b", 1), concurrency=1)
    assert int(_result(first)["rate_limited"]) >= 1, "the seventh request met the account's limit"
    other = _result(second)
    assert other["failed"] == [] and int(other["rate_limited"]) == 0
    limited = next(call for call in fake.calls if call["mode"] == "rate_limited")
    pause_end = limited["at"] + limited["retry_after"]
    answered = [call for call in fake.calls if call["paid"] and "Session b0" in json.dumps(call["request"])]
    assert answered, "the other run's request reached the provider"
    # The fake records a call when it answers (after its 0.3 s latency): the request left at or after the pause.
    assert min(call["at"] for call in answered) >= pause_end, (
        "the other run waited out the retry-after instead of meeting a 429"
    )
