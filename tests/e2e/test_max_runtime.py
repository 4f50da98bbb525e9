"""A run hung past its maximum runtime, under the real daemon: run monitoring ends it for good (its
worker gone, its step not retried inside the failed run), run_retries runs it again once, and the
session ends by itself, paid once (issue 18: every run ends every one of its sessions, a hang included)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from launchers.run_workers import process_start, worker_of
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.daemon import daemon_env, running_daemon, wait_for
from tests.support.fake_api import FakeAPI
from tests.support.sessions import add_session

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TEXT = "Yesterday I go to the market and I buy a apple. She don't like it, you know, it was very very good."


def test_a_run_hung_past_its_maximum_runtime_is_ended_and_retried_once(tmp_path: Path) -> None:
    uploads, home = tmp_path / "uploads", tmp_path / "home"
    uploads.mkdir()
    # The first analysis call is never answered (a vendor's queue that hangs; a client that hangs up
    # pays nothing): only the maximum runtime can end that run. The retry's call is answered (10 s:
    # the retry itself, a process start and a run, must fit in it on a loaded 2-core machine).
    with FakeAPI(slow_seconds=600) as fake:
        fake.push("stall")
        env = daemon_env(
            tmp_path,
            SENSOR_INTERVAL_SECONDS="1",
            ANALYZER_PROVIDER="openai",
            OPENAI_API_KEY="sk-test-not-a-real-key",
            OPENAI_BASE_URL=fake.openai_base_url,
            PROVIDER_TIMEOUT_SECONDS="900",
        )
        instance_yaml = (
            (ROOT / "dagster.yaml")
            .read_text()
            .replace("max_runtime_seconds: 14400", "max_runtime_seconds: 10")
            .replace("poll_interval_seconds: 5", "poll_interval_seconds: 1")
        )
        assert "max_runtime_seconds: 10\n" in instance_yaml
        home.mkdir()
        (home / "dagster.yaml").write_text(instance_yaml)
        status = StatusStore(env["STATUS_DB_URL"])
        with (
            dg.DagsterInstance.from_config(str(home)) as instance,
            running_daemon(home, env, instance_yaml) as daemon,
        ):

            def wait(what: str, condition, timeout: float = 90) -> None:  # noqa: ANN001
                wait_for(condition, timeout=timeout, what=what, daemon=daemon, log=home / "daemon.log")

            def runs() -> list[dg.DagsterRun]:  # oldest first
                return instance.get_runs(dg.RunsFilter(tags={"dagster/partition": "hung"}))[::-1]

            add_session(uploads, "learner", "hung", text=TEXT)
            wait("hung DONE", lambda: (s := status.get("hung")) is not None and s.state is SessionState.DONE)
            wait("both runs ended", lambda: len(runs()) == 2 and all(r.is_finished for r in runs()))
            hung, retry = runs()
            assert hung.status is dg.DagsterRunStatus.FAILURE, hung.status
            failures = instance.all_logs(hung.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
            messages = [e.dagster_event.message or "" for e in failures if e.dagster_event]
            assert any("Exceeded maximum runtime of 10 seconds" in m for m in messages), messages
            worker = worker_of(hung)
            assert worker is not None and process_start(worker[0]) != worker[1], "the hung worker is gone"
            starts = instance.all_logs(hung.run_id, of_type=dg.DagsterEventType.STEP_START)
            assert len(starts) == 1, "the interrupted step was not started again inside the failed run"
            assert retry.status is dg.DagsterRunStatus.SUCCESS
            assert retry.tags.get("dagster/parent_run_id") == hung.run_id
            assert status.get("hung").run_id == retry.run_id  # type: ignore[union-attr]
            assert fake.stalled == 1 and fake.paid_calls == 1, "the hung call unpaid, the retry's paid once"
        status.dispose()
