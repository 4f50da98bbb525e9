"""The alerts sensor in-process: failed runs with their sessions, ERROR checks and freshness FAILs reach a
local webhook once each (across ticks and a restart), grouped when many, never with transcript text or a secret."""

from __future__ import annotations

import json
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

from assets.partitions import RANGE_END, RANGE_START
from pipeline.domain.models import SessionState
from pipeline.stages import lifecycle
from pipeline.status.store import StatusStore
from sensors.alerts import AlertCursor, build_alerts_sensor
from tests.support.alert_sinks import WebhookSink, webhook_sink
from tests.support.materialize import materialize_sessions, offline_assets, offline_resource
from tests.support.sessions import add_session
from wiring.alerts import AlertsResource, alerts_configured, alerts_resource
from wiring.resources import PipelineResource

SECRET = "sk-proj-ALERTLEAK0123456789"
QUOTE = "yesterday I go to the market and buy a apple"


@pytest.fixture
def sink() -> WebhookSink:
    with webhook_sink() as s:
        yield s


def run_transcript_check_on_a_planted_document(
    instance: dg.DagsterInstance, pipeline: PipelineResource, tmp_path: Path, uploads_dir: Path
) -> None:
    """A real ERROR check in a run: a stored transcript rewritten as truncated, then its checks executed."""
    add_session(uploads_dir, "cy", "chk1", text=QUOTE)
    instance.add_dynamic_partitions("sessions", ["chk1"])
    dg.materialize(
        offline_assets(),
        instance=instance,
        resources={"pipeline": pipeline},
        partition_key="chk1",
        selection=["transcript"],
    )
    stored = tmp_path / "results" / "transcripts" / "chk1.json"
    document = json.loads(stored.read_text())
    document["quality"] = {"declared_seconds": 600.0, "decoded_seconds": 45.0, "truncated": True}
    stored.write_text(json.dumps(document))
    checks = dg.AssetSelection.checks(dg.AssetCheckKey(dg.AssetKey("transcript"), "transcript_quality"))
    tags = {RANGE_START: "chk1", RANGE_END: "chk1"}  # checks alone run over a range, as the UI runs them
    dg.materialize(
        offline_assets(), instance=instance, resources={"pipeline": pipeline}, tags=tags, selection=checks
    )


def tick(instance: dg.DagsterInstance, resources: dict, cursor: str | None) -> str | None:
    sensor = build_alerts_sensor(
        configured=True
    )  # a new definition each tick: a restart keeps only the cursor
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        sensor(context)
        return context.cursor


def test_failed_runs_checks_and_freshness_are_told_once_each(
    tmp_path: Path, uploads_dir: Path, sink: WebhookSink
) -> None:
    pipeline = offline_resource(tmp_path, uploads_dir)
    resources = {"alerts": AlertsResource(webhook_url=sink.url, attempts=1), "pipeline": pipeline}
    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    for key in ("old1", "bad1", *(f"burst{i}" for i in range(7))):
        add_session(uploads_dir, "ana", key, text="")  # an empty transcript fails permanently
    with dg.instance_for_test() as instance:
        materialize_sessions(instance, pipeline, ["old1"])  # before alerting was on: history, not news
        cursor = tick(instance, resources, None)
        assert sink.posts == [] and AlertCursor.parse(cursor).after

        [one] = materialize_sessions(instance, pipeline, ["bad1"])
        [batch] = materialize_sessions(instance, pipeline, [f"burst{i}" for i in range(7)], batch=True)
        # A session whose recorded error quotes the transcript and a key (an unexpected error's text).
        lifecycle.fail(
            status, "burst0", ValueError(f"cannot parse {QUOTE!r} with key {SECRET}"), batch.run_id
        )
        run_transcript_check_on_a_planted_document(instance, pipeline, tmp_path, uploads_dir)
        instance.report_runless_asset_event(
            FreshnessStateChange(
                key=dg.AssetKey("pattern_profile"),
                previous_state=FreshnessState.WARN,
                new_state=FreshnessState.FAIL,
                state_change_timestamp=time.time(),
            )
        )
        sink.fail_next = 1  # the webhook is down for this tick: nothing is lost, nothing sent twice
        cursor = tick(instance, resources, cursor)
        assert sink.posts == [] and len(AlertCursor.parse(cursor).outbox["webhook"]) == 4
        cursor = tick(instance, resources, cursor)
        assert len(sink.posts) == 4, sink.texts
        cursor = tick(instance, resources, cursor)  # the next tick (or a restarted daemon) repeats nothing
        assert len(sink.posts) == 4 and AlertCursor.parse(cursor).outbox == {}

    single, grouped, check, fresh = sink.texts
    assert single.startswith(
        f"[speaking-pipeline] Run {one.run_id[:8]} of __ephemeral_asset_job__ failed: 1 session FAILED"
    )
    assert (
        "- bad1 (learner ana): transcript.txt of session bad1 is empty (0 bytes) [a retry cannot help]"
        in single
    )
    assert f"7 sessions failed in run {batch.run_id[:8]}, first 5:" in grouped
    assert "- and 2 more: python -m pipeline.status --state FAILED" in grouped
    assert "ERROR check failed: transcript_quality on transcript, session chk1" in check
    assert "Why: truncated: decoded 45.0 s of a declared 600.0 s." in check
    assert fresh.startswith("[speaking-pipeline] Freshness FAIL: pattern_profile")
    assert "old1" not in "".join(sink.texts)
    assert "- burst0 (learner ana): unexpected error (ValueError) [a retry may help]" in grouped
    assert status.get("burst0").state is SessionState.FAILED and SECRET in status.get("burst0").error
    for text in sink.texts:
        assert SECRET not in text and "market" not in text and "secret-token" not in text


def test_on_only_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not alerts_configured({}) and alerts_configured({"ALERT_WEBHOOK_URL": "http://x"})
    assert build_alerts_sensor(False).default_status is dg.DefaultSensorStatus.STOPPED
    assert build_alerts_sensor(True).default_status is dg.DefaultSensorStatus.RUNNING
    with dg.instance_for_test() as instance:
        sensor = build_alerts_sensor(False)
        with dg.build_sensor_context(
            instance=instance, resources={"alerts": alerts_resource({}), "pipeline": object()}
        ) as context:
            assert "no alert channel configured" in str(sensor(context).skip_message)
    monkeypatch.setenv("ALERT_SMTP_PASSWORD", "pw")
    resource = alerts_resource({"ALERT_SMTP_PASSWORD": "pw"})
    assert isinstance(resource.smtp_password, dg.EnvVar)  # the UI shows the variable's name, not its value
