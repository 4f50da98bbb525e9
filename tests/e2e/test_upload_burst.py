"""End to end with the real daemon: a burst is batched, a lone upload runs alone, a corrected re-upload is redone."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg
import pytest

from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.daemon import SESSION_RUNS, daemon_env, running_daemon, wait_for, wait_for_session_runs
from tests.support.sessions import add_session

pytestmark = pytest.mark.e2e


TEXT = "Yesterday I go to the market and I buy a apple. Um, it was very very good, you know."
CORRECTED = "My sister don't like coffee. She have a cat and the cat is very very lazy."
BURST = [f"burst{i:02d}" for i in range(30)]


def test_a_burst_is_batched_a_lone_upload_runs_alone_and_a_corrected_reupload_is_redone(
    tmp_path: Path,
) -> None:
    uploads, results, home = tmp_path / "uploads", tmp_path / "results", tmp_path / "dagster_home"
    status_url = f"sqlite:///{tmp_path}/status.db"
    env = daemon_env(tmp_path, UPLOAD_QUIET_SECONDS="1")
    uploads.mkdir()
    for i, session in enumerate(BURST):  # dropped at once: the first tick sees them all
        add_session(
            uploads,
            f"learner{i % 4}",
            session,
            text=f"{TEXT} Number {i}.",
            manifest=f'{{"recorded_at": "2026-03-01T10:{i:02d}:00Z"}}',
        )
    status = StatusStore(status_url)

    def done(*sessions: str) -> bool:
        rows = status.get_many(sessions)
        return len(rows) == len(sessions) and all(r.state is SessionState.DONE for r in rows.values())

    with running_daemon(home, env) as daemon:
        log = home / "daemon.log"
        wait_for(lambda: done(*BURST), timeout=300, what="the burst DONE", daemon=daemon, log=log)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            wait_for_session_runs(instance, what="the burst's runs")
            burst_runs = instance.get_runs(SESSION_RUNS)
        assert len(burst_runs) < len(BURST), f"{len(burst_runs)} runs for {len(BURST)} sessions: not batched"
        assert all(run.status is dg.DagsterRunStatus.SUCCESS for run in burst_runs)

        add_session(uploads, "learner0", "lone", text=f"{TEXT} Alone.")
        wait_for(lambda: done("lone"), timeout=120, what="the lone upload DONE", daemon=daemon, log=log)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            [lone_run] = [
                r for r in instance.get_runs(SESSION_RUNS) if r.run_id not in {b.run_id for b in burst_runs}
            ]
        assert (
            lone_run.tags.get("dagster/partition") == "lone" and lone_run.tags.get("learner_id") == "learner0"
        )

        (uploads / "learner1" / "burst01" / "transcript.txt").write_text(CORRECTED)
        version = "sha256:" + hashlib.sha256(CORRECTED.encode()).hexdigest()
        wait_for(
            lambda: done("burst01") and status.get("burst01").result_version == version,
            timeout=120,
            what="the corrected re-upload DONE",
            daemon=daemon,
            log=log,
        )

    insights = json.loads((results / "insights" / "burst01.json").read_text())
    assert insights["transcript_sha256"] == hashlib.sha256(CORRECTED.encode()).hexdigest()
    examples = [e for insight in insights["analysis"]["insights"] for e in insight["examples"]]
    assert examples and all(e in CORRECTED for e in examples), "insights quote the corrected text"
    # learner1's later snapshots are recomputed from the change on: only the corrected text has this pattern.
    profile = json.loads((results / "pattern_profiles" / "burst29.json").read_text())
    assert "grammar.subject_verb_agreement" in {p["pattern_id"] for p in profile["patterns"]}
    assert status.get("burst01").upload_version == version
