"""The run log as an operator reads it: the core's progress lines reach it (via python_logs), quietly."""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg
import pytest
import yaml

from tests.support.materialize import materialize_sessions, offline_resource
from tests.support.sessions import add_session

ROOT = Path(__file__).resolve().parents[2]
TEXT = "Yesterday I go to the market and I buy a apple. She don't like the market. It was very nice."


@pytest.fixture
def instance():
    # A run's log handler left on the "pipeline" logger by an earlier in-process run of this test
    # process stamps each record first, and the current run's handler then skips it as already
    # handled: in a real run worker (one run per process) none is left over, so none is kept here.
    for name in ("pipeline", ""):
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if type(h).__name__ == "DagsterLogHandler"]:
            logger.removeHandler(handler)
    # The python_logs of the repository's own dagster.yaml, so the test covers what `make run` uses.
    python_logs = yaml.safe_load((ROOT / "dagster.yaml").read_text())["python_logs"]
    with dg.instance_for_test(overrides={"python_logs": python_logs}) as instance:
        yield instance


def run_log(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """(level, message) of every log line of the run, as the run page lists them."""
    lines = []
    for entry in instance.all_logs(run_id):
        if entry.is_dagster_event:
            continue
        lines.append((logging_level(entry.level), entry.user_message))
    return lines


def logging_level(level: int) -> str:
    return logging.getLevelName(level)


def test_progress_lines_reach_the_run_log_without_transcript_text(
    tmp_path: Path, uploads_dir: Path, instance: dg.DagsterInstance
) -> None:
    add_session(uploads_dir, "ana", "a1", audio="speech.webm")
    add_session(uploads_dir, "ana", "a2", text=TEXT)
    [result] = materialize_sessions(
        instance, offline_resource(tmp_path, uploads_dir), ["a1", "a2"], batch=True
    )
    assert result.success
    lines = run_log(instance, result.run_id)
    messages = [m for _, m in lines]
    assert any("run: session 1/2 (a1)" in m for m in messages), messages
    assert any("run: session 2/2 (a2)" in m for m in messages), messages
    window = [m for m in messages if "audio.webm: window 1/1 (100 %," in m]
    assert window, messages
    assert not any("market" in m or "apple" in m for m in messages)  # no transcript text
    warnings = [(level, m) for level, m in lines if level in ("WARNING", "ERROR", "CRITICAL")]
    assert warnings == []
    events = [e.dagster_event for e in instance.all_logs(result.run_id) if e.is_dagster_event]
    assert not any("did not yield or return expected outputs" in (e.message or "") for e in events)


def test_an_unknown_price_is_unknown_in_the_log_and_the_metadata(
    tmp_path: Path,
    uploads_dir: Path,
    instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from assets.sessions import build_session_assets
    from pipeline.config.settings import Settings
    from pipeline.providers.plan import provider_plan
    from tests.support.fake_api import FakeAPI

    add_session(uploads_dir, "ana", "p1", text=TEXT)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.setenv("ANALYZER_MODEL", "my-local-model")  # in no price table
    monkeypatch.setenv("CONTEXT_WINDOWS_JSON", '{"my-local-model": 32000}')
    with FakeAPI() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_base_url)
        settings = Settings(
            stt_provider="offline", analyzer_provider="openai", analyzer_model="my-local-model"
        )
        assets = build_session_assets(provider_plan(settings, openai_key="sk-test-key", anthropic_key=None))
        instance.add_dynamic_partitions("sessions", ["p1"])
        resource = offline_resource(tmp_path, uploads_dir, analyzer_provider="openai")
        result = dg.materialize(
            assets, instance=instance, resources={"pipeline": resource}, partition_key="p1"
        )
        assert result.success and fake.paid_calls == 1
    [record] = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("insights"), asset_partitions=["p1"]), limit=1
    ).records
    metadata = record.asset_materialization.metadata
    assert metadata["cost_usd"].value is None  # null, not 0
    assert "no price known for model 'my-local-model'" in metadata["cost_unknown"].value
    # The warning as logged, and as a line of the run's log (python_logs).
    warnings = [r.getMessage() for r in caplog.records if r.name == "pipeline.providers.pricing"]
    assert any("'my-local-model'" in m and "unknown" in m for m in warnings), warnings
    logged = [m for level, m in run_log(instance, result.run_id) if level == "WARNING"]
    assert any("'my-local-model'" in m and "unknown" in m for m in logged), run_log(instance, result.run_id)
