"""Pytest fixtures for the fake OpenAI/Anthropic API: import them into a test module that uses it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_api import FakeAPI

#: What the SDKs read from the environment; a developer's real settings must never reach a test.
SDK_VARIABLES = (
    "OPENAI_BASE_URL",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
)


@pytest.fixture(autouse=True)
def clean_cloud_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No SDK variable and no Anthropic profile on disk (autouse in every module importing it)."""
    for name in SDK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "anthropic-config"))


@pytest.fixture(name="fake")
def fake_fixture() -> Iterator[FakeAPI]:
    """A fake API server of its own per test; import as ``fake_fixture``, request as ``fake``."""
    with FakeAPI(slow_seconds=1.0) as server:
        yield server
