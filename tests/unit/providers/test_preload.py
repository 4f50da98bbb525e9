"""What a forking process (a Celery worker) loads before its runs: the chosen providers' imports, once."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wiring import resources


def _preload_in_fresh_process(env: dict[str, str]) -> str:
    code = (
        "import sys\n"
        "from pipeline.config.settings import Settings\n"
        "from pipeline.providers.factory import preload\n"
        f"settings = Settings.from_env({env!r})\n"
        f"print(preload(settings, {env.get('ANTHROPIC_API_KEY')!r}, {env.get('OPENAI_API_KEY')!r}))\n"
        "print(sorted(m for m in ('anthropic', 'openai', 'faster_whisper', 'spacy') if m in sys.modules))\n"
    )
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout


def test_preload_imports_the_chosen_cloud_sdk_and_the_model_table_only() -> None:
    out = _preload_in_fresh_process({"ANALYZER_PROVIDER": "anthropic", "STT_PROVIDER": "offline"})
    loaded, modules = out.splitlines()
    assert "'anthropic'" in loaded and "'genai_prices'" in loaded and "openai" not in loaded
    # the offline recognizer stays lazy: a text session never needs it
    assert modules == "['anthropic']"


def test_preload_of_offline_providers_loads_nothing() -> None:
    out = _preload_in_fresh_process({"ANALYZER_PROVIDER": "offline", "STT_PROVIDER": "offline"})
    assert out.splitlines() == ["[]", "[]"]


def test_s3_clients_share_a_session_per_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "_boto_sessions", {})
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    first, second = resources.s3_client(), resources.s3_client()
    assert first is not second  # each its own connection pool
    assert len(resources._boto_sessions) == 1
    assert first.meta.endpoint_url == "http://127.0.0.1:9" and first.meta.region_name == "eu-west-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    assert resources.s3_client().meta.region_name == "us-east-2"
    assert len(resources._boto_sessions) == 2
