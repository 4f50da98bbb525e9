"""End to end with the real daemon and the cloud providers against the local fake API, 30% transient faults."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.daemon import ROOT, daemon_env, running_daemon, wait_for
from tests.support.sessions import add_session

pytestmark = pytest.mark.e2e

TEXT = "Yesterday I go to the market and I buy a apple. She don't like it, you know, it was very very good."
AUDIO = {"cloud-a1": "speech.wav", "cloud-a2": "speech.mp3"}
TEXTS = [f"cloud-t{i}" for i in range(20)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cloud_providers_complete_every_session_through_transient_faults(tmp_path: Path) -> None:
    port, calls_log = free_port(), tmp_path / "calls.json"
    fake = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.fake_api",
            "--port",
            str(port),
            "--fault-rate",
            "0.3",
            "--seed",
            "11",
            "--log",
            str(calls_log),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uploads, results, home = tmp_path / "uploads", tmp_path / "results", tmp_path / "home"
    status_url = f"sqlite:///{tmp_path}/status.db"
    env = daemon_env(
        tmp_path,
        STT_PROVIDER="openai",
        ANALYZER_PROVIDER="anthropic",
        OPENAI_API_KEY="sk-test-not-a-real-key",
        ANTHROPIC_API_KEY="sk-ant-test-not-a-real-key",
        OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1",
        ANTHROPIC_BASE_URL=f"http://127.0.0.1:{port}",
        PROVIDER_MAX_RETRIES="3",
        PROVIDER_TIMEOUT_SECONDS="10",
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        uploads.mkdir()
        for session, audio in AUDIO.items():
            add_session(uploads, "ana", session, audio=audio)
        for i, session in enumerate(TEXTS):
            add_session(
                uploads,
                f"learner{i % 4}",  # runs of one learner are serialised: spread them
                session,
                text=f"{TEXT} Session {i}.",
                manifest=f'{{"recorded_at": "2026-02-{i + 1:02d}T00:00:00Z"}}',
            )
        status = StatusStore(status_url)
        everyone = [*AUDIO, *TEXTS]

        def all_done() -> bool:
            states = {s.session_id: s.state for s in status.list()}
            return all(states.get(k) is SessionState.DONE for k in everyone)

        with running_daemon(home, env) as daemon:
            wait_for(
                all_done, timeout=420, what="every cloud session DONE", daemon=daemon, log=home / "daemon.log"
            )
    finally:
        fake.terminate()
        fake.wait(timeout=10)

    calls = json.loads(calls_log.read_text())["calls"]
    paid = [c for c in calls if c["paid"]]
    faults = [c for c in calls if not c["paid"]]
    paid_stt = [c for c in paid if c["path"].endswith("/audio/transcriptions")]
    paid_analysis = [c for c in paid if c["path"].endswith("/messages")]
    assert len(paid_stt) == len(AUDIO), "each recording paid for exactly once"
    assert len(paid_analysis) == len(everyone), "each analysis paid for exactly once"
    assert faults, "the fake injected transient faults"
    for session in AUDIO:
        transcript = json.loads((results / "transcripts" / f"{session}.json").read_text())
        assert transcript["provider"] == "openai" and transcript["usage"]["cost_usd"] > 0
    for session in everyone:
        insights = json.loads((results / "insights" / f"{session}.json").read_text())
        assert insights["provider"] == "anthropic" and insights["usage"]["input_tokens"] > 0
        assert (results / "pattern_profiles" / f"{session}.json").exists()
    secret_hits = [p for p in results.rglob("*.json") if "not-a-real-key" in p.read_text()]
    assert secret_hits == [] and "not-a-real-key" not in (home / "daemon.log").read_text()
    sys.stderr.write(
        f"fault injection: {len(calls)} requests, {len(faults)} faults ({len(faults) / len(calls):.0%}), "
        f"paid: {len(paid_stt)} transcriptions for {len(AUDIO)} recordings, {len(paid_analysis)} analyses for "
        f"{len(everyone)} sessions\n"
    )
