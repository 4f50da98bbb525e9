"""End to end with the real daemon: a FAILED session's run reaches a local webhook and a local SMTP server, once."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import InstigatorType

from tests.support.alert_sinks import smtp_sink, webhook_sink
from tests.support.daemon import ROOT, daemon_env, running_daemon, wait_for
from tests.support.sessions import add_session

pytestmark = pytest.mark.e2e


def alerts_cursor(instance: dg.DagsterInstance) -> str | None:
    """The alerts sensor's cursor once its first tick has run (it alerts on what happens after)."""
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.instigator_name == "alerts_sensor" and state.instigator_data is not None:
            return getattr(state.instigator_data, "cursor", None)
    return None


def test_a_failed_session_is_told_to_the_webhook_and_by_mail_once(tmp_path: Path) -> None:
    uploads, home = tmp_path / "uploads", tmp_path / "dagster_home"
    uploads.mkdir()
    with webhook_sink() as hook, smtp_sink(auth=("alerts", "smtp-pw-SECRET")) as mail:
        env = daemon_env(
            tmp_path,
            UPLOAD_QUIET_SECONDS="1",
            ALERT_INTERVAL_SECONDS="1",
            ALERT_WEBHOOK_URL=hook.url,
            ALERT_SMTP_HOST="127.0.0.1",
            ALERT_SMTP_PORT=str(mail.port),
            ALERT_SMTP_USER="alerts",
            ALERT_SMTP_PASSWORD="smtp-pw-SECRET",
            ALERT_EMAIL_FROM="dagster@example.org",
            ALERT_EMAIL_TO="ops@example.org",
            ALERT_UI_URL="http://127.0.0.1:3000",
        )
        home.mkdir()
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        # The instance's storage is created here, before the daemon opens it (two first openers race).
        with dg.DagsterInstance.from_config(str(home)) as instance, running_daemon(home, env) as daemon:
            log = home / "daemon.log"
            wait_for(
                lambda: alerts_cursor(instance) is not None,
                timeout=90,
                what="the alerts sensor's first tick",
                daemon=daemon,
                log=log,
            )
            add_session(uploads, "ana", "bad1", text="")  # an empty transcript: FAILED, a retry cannot help
            wait_for(
                lambda: hook.posts and mail.messages,
                timeout=90,
                what="the alert on both channels",
                daemon=daemon,
                log=log,
            )
            time.sleep(3)  # more alert ticks: nothing is sent twice
            [run] = instance.get_runs(dg.RunsFilter(job_name="session_job"))
        log_text = log.read_text(errors="replace")

    [text] = hook.texts
    [message] = mail.messages
    assert text.startswith(
        f"[speaking-pipeline] Run {run.run_id[:8]} of session_job failed: 1 session FAILED\n"
    )
    assert (
        "- bad1 (learner ana): transcript.txt of session bad1 is empty (0 bytes) [a retry cannot help]"
        in text
    )
    assert f"Run: http://127.0.0.1:3000/runs/{run.run_id}" in text
    assert message["Subject"] == text.split("\n")[0] and mail.bodies()[0].strip() == text.strip()
    assert mail.envelopes == [("dagster@example.org", ["ops@example.org"])]
    for secret in ("smtp-pw-SECRET", "secret-token"):
        assert secret not in log_text and secret not in text
    print(f"--- webhook text ---\n{text}\n--- e-mail ---\n{mail.raw[0].decode()}")  # noqa: T201 - quoted in the report
