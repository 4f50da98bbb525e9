"""End to end with the real daemon: a backfill over every session, one of them bad, re-materializes every good one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.daemon import ROOT, daemon_env, running_daemon, wait_for, wait_for_session_runs
from tests.support.sessions import add_session

pytestmark = pytest.mark.e2e

TEXT = (
    "Yesterday I go to the market and I buy a apple. Um, it was very very good, you know. She don't like it."
)
GOOD = ("g1", "g2", "g3", "g4")


def latest_runs(instance: dg.DagsterInstance, asset: str, keys: list[str]) -> dict[str, str]:
    """The run id of each partition's latest materialization."""
    runs = {}
    for key in keys:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[key]), limit=1
        ).records
        if records:
            runs[key] = records[0].run_id
    return runs


def test_backfill_of_all_partitions_rematerializes_every_good_session(tmp_path: Path) -> None:
    uploads, home = tmp_path / "uploads", tmp_path / "dagster_home"
    status_url = f"sqlite:///{tmp_path}/status.db"
    env = daemon_env(tmp_path)
    uploads.mkdir()
    for i, key in enumerate(GOOD):
        add_session(
            uploads,
            f"learner{i % 2}",
            key,
            text=f"{TEXT} Number {i}.",
            manifest=f'{{"recorded_at": "2026-03-0{i + 1}T10:00:00Z"}}',
        )
    add_session(uploads, "learner0", "bad1", text="")  # an empty transcript: fails permanently
    status = StatusStore(status_url)
    keys = [*GOOD, "bad1"]

    def settled() -> bool:
        states = {s.session_id: s.state for s in status.list()}
        return (
            all(states.get(k) is SessionState.DONE for k in GOOD)
            and states.get("bad1") is SessionState.FAILED
        )

    with running_daemon(home, env) as daemon:
        log = home / "daemon.log"
        wait_for(settled, timeout=300, what="the sensor's runs", daemon=daemon, log=log)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            # A session is DONE just before its run reports it: let the sensor's runs end first.
            wait_for_session_runs(instance, what="the sensor's runs finished", daemon=daemon, log=log)
            before = {asset: latest_runs(instance, asset, keys) for asset in ("insights", "pattern_profile")}
        # What the README tells engineers to run, with the daemon's environment.
        launched = subprocess.run(
            [
                str(Path(sys.executable).with_name("dagster")),
                "job",
                "backfill",
                "-w",
                "workspace.yaml",
                "-j",
                "session_job",
                "--all",
                "all",
                "--noprompt",
            ],
            cwd=ROOT,
            env={**os.environ, **env, "DAGSTER_HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert launched.returncode == 0, launched.stdout + launched.stderr
        with dg.DagsterInstance.from_config(str(home)) as instance:
            [backfill] = instance.get_backfills()

            def backfill_done() -> bool:
                runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
                return len(runs) == len(keys) and all(run.is_finished for run in runs)

            wait_for(backfill_done, timeout=300, what="the backfill's runs", daemon=daemon, log=log)
            backfill_runs = {
                run.run_id
                for run in instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
            }
            for asset in ("insights", "pattern_profile"):
                after = latest_runs(instance, asset, keys)
                for key in GOOD:
                    assert after[key] in backfill_runs and after[key] != before[asset][key], f"{asset}/{key}"
                assert "bad1" not in after
    assert all(status.get(k).state is SessionState.DONE for k in GOOD)
    assert status.get("bad1").state is SessionState.FAILED and "empty" in status.get("bad1").error
