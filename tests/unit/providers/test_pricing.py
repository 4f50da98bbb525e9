"""Model prices and context windows: the maintained table (genai-prices), hand entries, overrides, unknowns."""

from __future__ import annotations

import logging
import socket

import pytest

from pipeline.providers import model_catalog
from pipeline.providers.analysis.context import DEFAULT_CONTEXT_TOKENS, context_table, context_window
from pipeline.providers.pricing import estimate_cost, price_table

MTOK = 1_000_000


def test_prices_come_from_the_maintained_table() -> None:
    # Both providers' analysis models, dated snapshots included, and the ones the old hand table lacked.
    assert (
        estimate_cost("claude-haiku-4-5", provider="anthropic", input_tokens=MTOK, output_tokens=MTOK) == 6.0
    )
    assert estimate_cost("claude-haiku-4-5-20251001", input_tokens=MTOK) == 1.0
    assert estimate_cost("gpt-4o-mini-2024-07-18", provider="openai", input_tokens=MTOK) == 0.15
    for model in ("gpt-5", "o3", "o4-mini", "claude-opus-4", "claude-3-7-sonnet"):
        cost = estimate_cost(model, input_tokens=1000, output_tokens=1000)
        assert cost is not None and cost > 0, model
    # Tiers are the table's: Sonnet 4.5 costs more per token past 200k input tokens.
    assert estimate_cost("claude-sonnet-4-5", input_tokens=300_000) == pytest.approx(300_000 * 6 / MTOK)


def test_transcription_prices_per_minute() -> None:
    # whisper-1 from the table; the token-billed gpt-4o(-mini)-transcribe from the hand entries.
    assert estimate_cost("whisper-1", provider="openai", audio_seconds=60.0) == pytest.approx(0.006)
    assert estimate_cost("gpt-4o-transcribe", provider="openai", audio_seconds=120.0) == pytest.approx(0.012)
    assert estimate_cost("gpt-4o-mini-transcribe-2025-03-20", audio_seconds=60.0) == pytest.approx(0.003)
    # The table knows gpt-4o-transcribe, but per audio token: seconds alone are not priced from it.
    assert model_catalog.cost("gpt-4o-transcribe", "openai", audio_seconds=60.0) is None


def test_an_unknown_price_is_none_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pipeline.providers.pricing"):
        assert estimate_cost("my-local-model", provider="openai", input_tokens=10, output_tokens=5) is None
    assert "'my-local-model'" in caplog.text and "unknown" in caplog.text and "PRICES_JSON" in caplog.text
    # A model of another provider is not priced as if it were that provider's.
    assert estimate_cost("claude-haiku-4-5", provider="openai", input_tokens=10) is None


def test_overrides_come_first_and_apply_to_exactly_their_model() -> None:
    table = price_table(
        {
            "gpt-4o": {"input_per_mtok": 1.0, "output_per_mtok": 1.0},
            "claude-haiku-4-5": {"output_per_mtok": 7.0},  # partial: input stays the table's $1
            "my-local-model": {"input_per_mtok": 0.5},
        }
    )
    assert estimate_cost("gpt-4o-2024-08-06", input_tokens=MTOK, prices=table) == 1.0
    assert estimate_cost("gpt-4o-mini", input_tokens=MTOK, prices=table) == 0.15  # not gpt-4o's override
    assert estimate_cost("claude-haiku-4-5", input_tokens=MTOK, output_tokens=MTOK, prices=table) == 8.0
    assert estimate_cost("my-local-model", input_tokens=2 * MTOK, prices=table) == 1.0
    with pytest.raises(ValueError, match="non-negative number"):
        price_table({"gpt-4o": {"input_per_mtok": -1}})


def test_context_windows_from_the_table_capped_and_overridden(caplog: pytest.LogCaptureFixture) -> None:
    none = context_table(None)
    assert context_window("gpt-5", none, "openai") == 272_000  # 400k in all, at most 272k of input
    assert context_window("gpt-5-mini", none) == 272_000
    assert context_window("claude-opus-4", none, "anthropic") == 200_000
    assert context_window("o3", none) == 200_000
    assert context_window("gpt-4o-mini-2024-07-18", none) == 128_000
    overrides = context_table({"gpt-5": 100_000})
    assert context_window("gpt-5-2025-08-07", overrides) == 100_000
    assert context_window("gpt-5-mini", overrides) == 272_000  # an override is for its own model
    assert context_window("my-local-model", none) == DEFAULT_CONTEXT_TOKENS
    assert "CONTEXT_WINDOWS_JSON" in caplog.text


def test_lookups_read_the_bundled_snapshot_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise AssertionError("a price lookup opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    model_catalog._snapshot.cache_clear()
    assert estimate_cost("gpt-4.1-nano", input_tokens=MTOK) == 0.1
    assert model_catalog.context_window("gpt-4.1") == 1_000_000
    assert model_catalog._snapshot().from_auto_update is False
