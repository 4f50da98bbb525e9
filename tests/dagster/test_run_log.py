"""The run log as an operator reads it: the core's progress lines reach it (via python_logs), quietly."""

from __future__ import annotations

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
    import logging

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
