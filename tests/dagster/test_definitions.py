"""Definitions as configured by environment: provider choice, pools, code versions, import hygiene."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg
import pytest

from pipeline.definitions import defs
from pipeline.settings import ConfigError, Settings


def specs(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, dg.AssetSpec]:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "STT_PROVIDER", "ANALYZER_PROVIDER", "ANALYZER_MODEL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {s.key.to_user_string(): s for s in defs().resolve_all_asset_specs()}


def test_without_keys_everything_is_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    found = specs(monkeypatch)
    assert found["transcript"].code_version.startswith("pocketsphinx:en-us")
    assert found["insights"].code_version.startswith("rules:rules-v2")
    assert "pocketsphinx" in found["transcript"].kinds


def test_auto_picks_cloud_providers_by_key_and_pools_follow(monkeypatch: pytest.MonkeyPatch) -> None:
    found = specs(monkeypatch, OPENAI_API_KEY="sk-x", ANTHROPIC_API_KEY="sk-ant-x")
    assert found["transcript"].code_version.startswith("openai:gpt-4o-mini-transcribe")
    assert found["insights"].code_version.startswith("anthropic:claude-haiku-4-5:insights-")
    assert step_pools() == {"session_stages": "anthropic"}  # the API every session calls
    specs(monkeypatch, OPENAI_API_KEY="sk-x")
    assert step_pools() == {"session_stages": "openai"}
    specs(monkeypatch)
    assert step_pools() == {"session_stages": "local_cpu"}


def step_pools() -> dict[str, str | None]:
    job = defs().get_job_def("session_job")
    return {node.name: node.definition.pool for node in job.graph.node_dict.values()}


def test_a_model_change_changes_the_insights_code_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = specs(monkeypatch, ANTHROPIC_API_KEY="k")["insights"].code_version
    after = specs(monkeypatch, ANTHROPIC_API_KEY="k", ANALYZER_MODEL="claude-sonnet-4-5")["insights"].code_version
    assert before != after and "claude-sonnet-4-5" in after


def test_unknown_provider_names_the_variable_and_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"ANALYZER_PROVIDER='gemini'.*anthropic, openai, offline"):
        Settings.from_env({"ANALYZER_PROVIDER": "gemini"})
    with pytest.raises(ConfigError, match="AUDIO_RETENTION"):
        Settings.from_env({"AUDIO_RETENTION": "forever"})


def test_forced_cloud_provider_without_key_is_a_clear_error() -> None:
    from pipeline.providers.factory import build_analyzer

    with pytest.raises(ConfigError, match="ANALYZER_PROVIDER=anthropic needs ANTHROPIC_API_KEY"):
        build_analyzer(Settings(analyzer_provider="anthropic"), None, None)


def test_importing_the_code_location_reads_no_config_and_no_cloud_sdk() -> None:
    code = (
        "import os, sys\n"
        "os.environ['STT_PROVIDER'] = 'not-a-provider'\n"  # would raise if read at import
        "import pipeline.definitions, assets.sessions, sensors.uploads\n"
        "assert 'openai' not in sys.modules and 'anthropic' not in sys.modules, sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_core_never_imports_the_dagster_layer() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "pipeline"
    offenders = []
    for path in root.rglob("*.py"):
        text = path.read_text()
        if path.name == "definitions.py":
            continue
        if "from assets" in text or "from sensors" in text or "import assets" in text:
            offenders.append(path.name)
        if "import dagster" in text and path.name not in {"resources.py"}:
            offenders.append(path.name)
    assert offenders == []
