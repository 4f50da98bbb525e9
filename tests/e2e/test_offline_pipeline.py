"""End to end with the real daemon: uploads -> sensor -> runs -> all three results, offline."""

from __future__ import annotations

import json
import time
from pathlib import Path

import dagster as dg
import pytest

from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.daemon import daemon_env, running_daemon, wait_for, wait_for_session_runs
from tests.support.sessions import add_session

pytestmark = pytest.mark.e2e

TEXT_A = "Yesterday I go to the market and I buy a apple. Um, it was very very good, you know."
TEXT_B = "My sister don't like coffee. She have a cat and the cat is very very lazy. Um, I like it."
GOOD = {"wav1": "speech.wav", "webm1": "speech.webm"}


def test_sessions_flow_through_the_daemon(tmp_path: Path) -> None:
    uploads, results, home = tmp_path / "uploads", tmp_path / "results", tmp_path / "dagster_home"
    status_url = f"sqlite:///{tmp_path}/status.db"
    # One run per session here (test_upload_burst covers batches).
    env = daemon_env(tmp_path, UPLOAD_QUIET_SECONDS="2", SENSOR_BATCH_THRESHOLD="100")
    uploads.mkdir()
    for session, audio in GOOD.items():
        add_session(uploads, "ana", session, audio=audio)
    add_session(uploads, "ana", "text1", text=TEXT_A, manifest='{"recorded_at": "2026-01-01T10:00:00Z"}')
    add_session(uploads, "ben", "text2", text=TEXT_B, manifest=None)  # ready by quiet period
    add_session(uploads, "ben", "corrupt1", audio="corrupt.wav")
    status = StatusStore(status_url)
    expected_done = [*GOOD, "text1", "text2"]

    def settled() -> bool:
        states = {s.session_id: s.state for s in status.list()}
        return all(states.get(k) is SessionState.DONE for k in expected_done) and (
            states.get("corrupt1") is SessionState.FAILED
        )

    with running_daemon(home, env) as daemon:
        log = home / "daemon.log"
        wait_for(settled, timeout=420, what="all sessions DONE and corrupt1 FAILED", daemon=daemon, log=log)
        # Re-upload the same bytes of a processed session: the same content version, no second run.
        (uploads / "ana" / "text1" / "transcript.txt").write_text(TEXT_A)
        add_session(uploads, "ben", "late1", text=TEXT_B)
        wait_for(
            lambda: (s := status.get("late1")) is not None and s.state is SessionState.DONE,
            timeout=180,
            what="late1 DONE",
            daemon=daemon,
            log=log,
        )
        time.sleep(6)  # two sensor intervals past the quiet period: a wrong second run of text1 would start
        with dg.DagsterInstance.from_config(str(home)) as instance:
            # A session is DONE just before its run reports it (and its checks): let late1's run end.
            wait_for_session_runs(instance, what="every session run finished", daemon=daemon, log=log)

    for session in [*expected_done, "late1"]:
        for folder in ("transcripts", "insights", "pattern_profiles"):
            assert (results / folder / f"{session}.json").exists(), f"{folder}/{session}.json missing"
    assert "could not be decoded" in status.get("corrupt1").error
    assert json.loads((results / "transcripts" / "webm1.json").read_text())["provider"] == "faster-whisper"
    profile = json.loads((results / "pattern_profiles" / "late1.json").read_text())
    assert profile["learner_id"] == "ben" and "text2" in profile["session_ids"]

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="session_job"))  # not the views' refreshes
        keys = [run.tags.get("dagster/partition") for run in runs]
        assert sorted(keys) == sorted([*expected_done, "corrupt1", "late1"]), (
            "one run per session, no duplicates"
        )
        assert all(run.tags.get("learner_id") in {"ana", "ben"} for run in runs)

        def checked(asset: str, check: str) -> set[str]:
            history = instance.event_log_storage.get_asset_check_execution_history(
                dg.AssetCheckKey(dg.AssetKey(asset), check), limit=100
            )
            return {
                record.event.dagster_event.event_specific_data.partition
                for record in history
                if record.event
                and record.event.dagster_event
                and record.event.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
            }

        checks = (
            ("transcript", "transcript_quality"),
            ("insights", "insights_grounded"),
            ("pattern_profile", "profile_consistent"),
        )
        for check in checks:
            assert {*expected_done, "late1"} <= checked(*check), (
                f"{check[1]} did not run on every DONE session"
            )
