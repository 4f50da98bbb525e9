"""End to end on the production instance config: the real daemon on PostgreSQL, uploads and results in S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.daemon import ROOT, running_daemon, wait_for, wait_for_session_runs
from tests.support.s3_server import create_bucket, moto_s3_server

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SESSIONS = {
    (
        "ana",
        "pg-ana-1",
    ): "Yesterday I go to the market and I buy a apple. Um, it was very very good, you know.",
    ("ana", "pg-ana-2"): "I have went to the cinema and the film was very very long. Um, I liked it.",
    ("ben", "pg-ben-1"): "My sister don't like coffee. She have a cat and the cat is very very lazy.",
}
FOLDERS = ("transcripts", "insights", "pattern_profiles")


def test_daemon_on_postgres_with_s3(
    tmp_path: Path, fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    instance_yaml = (ROOT / "deploy" / "dagster.yaml").read_text()  # as shipped, not a test variant
    (home / "dagster.yaml").write_text(instance_yaml)
    with moto_s3_server() as endpoint:
        bucket = create_bucket(endpoint)
        env = {
            **bucket.env(),
            "DAGSTER_POSTGRES_URL": fresh_database,
            "STATUS_DB_URL": fresh_database,  # the same database, as in production
            "UPLOADS_URI": bucket.uri("uploads"),
            "RESULTS_URI": bucket.uri("results"),
            "STT_PROVIDER": "offline",
            "ANALYZER_PROVIDER": "offline",
            "SENSOR_INTERVAL_SECONDS": "2",
            "UPLOAD_QUIET_SECONDS": "2",
        }
        # The per-pool limits are set the documented way, before the daemon starts.
        pools = subprocess.run(
            ["bash", str(ROOT / "deploy" / "pools.sh")],
            env={
                **os.environ,
                **env,
                "DAGSTER_HOME": str(home),
                "POOL_LOCAL_CPU_LIMIT": "2",
                "DAGSTER_BIN": str(Path(sys.executable).with_name("dagster")),
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert pools.returncode == 0, f"deploy/pools.sh failed:\n{pools.stdout}\n{pools.stderr}"
        for (learner, session), text in SESSIONS.items():
            prefix = f"uploads/{learner}/{session}"
            bucket.client.put_object(Bucket=bucket.name, Key=f"{prefix}/transcript.txt", Body=text.encode())
            bucket.client.put_object(
                Bucket=bucket.name, Key=f"{prefix}/session.json", Body=b'{"language": "en"}'
            )
        status = StatusStore(fresh_database)
        expected = {session for _, session in SESSIONS}

        def all_done() -> bool:
            states = {s.session_id: s.state for s in status.list()}
            return all(states.get(session) is SessionState.DONE for session in expected)

        try:
            with running_daemon(home, env, instance_yaml=instance_yaml):
                wait_for(all_done, timeout=240, what="every session DONE", log=home / "daemon.log")
                monkeypatch.setenv("DAGSTER_POSTGRES_URL", fresh_database)  # read by deploy/dagster.yaml
                with dg.DagsterInstance.from_config(str(home)) as instance:
                    # A session is DONE just before its run reports it: let the runs end first.
                    wait_for_session_runs(
                        instance, what="every session run finished", log=home / "daemon.log"
                    )
            keys = {
                obj["Key"]
                for obj in bucket.client.list_objects_v2(Bucket=bucket.name, Prefix="results/").get(
                    "Contents", []
                )
            }
            for session in expected:
                for folder in FOLDERS:
                    assert f"results/{folder}/{session}.json" in keys, (
                        f"{folder}/{session}.json missing in S3"
                    )
            body = bucket.client.get_object(Bucket=bucket.name, Key="results/pattern_profiles/pg-ben-1.json")[
                "Body"
            ]
            assert json.loads(body.read())["learner_id"] == "ben"
        finally:
            status.dispose()

    monkeypatch.setenv("DAGSTER_POSTGRES_URL", fresh_database)  # read by deploy/dagster.yaml
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage", "runs are stored in PostgreSQL"
        runs = instance.get_runs(dg.RunsFilter(job_name="session_job"))  # not the views' refreshes
        assert sorted(run.tags.get("dagster/partition") for run in runs) == sorted(expected), (
            "one run per session"
        )
        assert {run.tags.get("learner_id") for run in runs} == {"ana", "ben"}
        assert all(run.status is dg.DagsterRunStatus.SUCCESS for run in runs)
        assert instance.event_log_storage.get_concurrency_info("local_cpu").slot_count == 2
