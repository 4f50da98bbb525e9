"""Definitions as configured by environment: provider choice, pools, code versions, import hygiene."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipeline.config.settings import ConfigError, Settings
from pipeline.providers.analysis.rules.spacy_model import PINNED_SHA256 as SPACY_SHA256
from pipeline.providers.speech_to_text.whisper_model import PINNED_SHA256
from wiring.definitions import defs


def specs(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, dg.AssetSpec]:
    for name in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "STT_PROVIDER",
        "ANALYZER_PROVIDER",
        "ANALYZER_MODEL",
        "OFFLINE_STT_MODEL",
        "OFFLINE_STT_COMPUTE_TYPE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {s.key.to_user_string(): s for s in defs().resolve_all_asset_specs()}


def test_without_keys_everything_is_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    found = specs(monkeypatch)
    # The shipped model's pinned digest is part of the code version: other weights mark transcripts stale.
    assert found["transcript"].code_version.startswith(f"faster-whisper:tiny.en@sha256:{PINNED_SHA256}:")
    # The offline analyzer's parser (its files' digest) and rules version: either changing re-analyses.
    assert found["insights"].code_version.startswith(
        f"rules:en_core_web_sm-3.8.0@sha256:{SPACY_SHA256}:rules-v6"
    )
    assert "faster-whisper" in found["transcript"].kinds


def test_another_offline_model_or_compute_type_changes_the_transcript_code_version(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    before = specs(monkeypatch)["transcript"].code_version
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"other weights")
    other = specs(monkeypatch, OFFLINE_STT_MODEL=str(folder))["transcript"].code_version
    assert other.startswith(f"faster-whisper:my-model@sha256:{hashlib.sha256(b'other weights').hexdigest()}:")
    assert specs(monkeypatch, OFFLINE_STT_COMPUTE_TYPE="float32")["transcript"].code_version not in (
        before,
        other,
    )


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
    after = specs(monkeypatch, ANTHROPIC_API_KEY="k", ANALYZER_MODEL="claude-sonnet-4-5")[
        "insights"
    ].code_version
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
        "import wiring.definitions, assets.sessions, sensors.uploads\n"
        "assert 'openai' not in sys.modules and 'anthropic' not in sys.modules, sorted(sys.modules)\n"
        # The offline recognizer's native libraries load on first use, not with the code location.
        "heavy = {'faster_whisper', 'ctranslate2', 'onnxruntime', 'av'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


HEAVY = ("av", "faster_whisper", "ctranslate2", "pocketsphinx", "openai", "anthropic", "boto3", "pandas",
         "matplotlib", "numpy")  # fmt: skip


def test_a_run_start_imports_nothing_heavy_before_a_step_needs_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What a run worker pays before its first step: the code location, its definitions, the resource."""
    code = (
        "import sys\n"
        f"HEAVY = {HEAVY!r}\n"
        "import wiring.definitions as d\n"
        "assert not [m for m in HEAVY if m in sys.modules], [m for m in HEAVY if m in sys.modules]\n"
        "d.defs()\n"
        "from wiring.resources import PipelineResource\n"
        f"r = PipelineResource(uploads_uri={str(tmp_path / 'u')!r}, results_uri={str(tmp_path / 'r')!r},\n"
        f"    status_db_url='sqlite:///{tmp_path}/s.db')\n"
        "services = r.services()\n"
        "loaded = [m for m in HEAVY if m in sys.modules]\n"
        "assert not loaded, f'imported before a step needed them: {loaded}'\n"
        "assert services.speech_to_text.name == 'faster-whisper' and 'numpy' in sys.modules  # built on first use\n"
    )
    env = {**os.environ, "STT_PROVIDER": "offline", "ANALYZER_PROVIDER": "offline"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_offline_plan_names_what_the_offline_provider_records() -> None:
    from pipeline.providers.plan import OFFLINE_DECODE_VERSION, OFFLINE_STT_NAME
    from pipeline.providers.speech_to_text.offline import DECODE_VERSION, FasterWhisperSpeechToText

    assert (FasterWhisperSpeechToText.name, DECODE_VERSION) == (OFFLINE_STT_NAME, OFFLINE_DECODE_VERSION)
