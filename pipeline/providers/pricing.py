"""Estimated cost of cloud provider calls, in USD.

Providers report token counts, not money, so the price per model lives here. The defaults are list
prices at the time of writing; they drift, so the resource layer can override any entry (for example
from a ``PRICES_JSON`` environment variable) without a code change. An estimate is for dashboards and
budgets, never for billing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Price:
    """USD per million input/output tokens, and per minute of audio for speech-to-text models."""

    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0
    per_audio_minute: float = 0.0


#: Keys are model names or prefixes: ``claude-haiku-4-5`` also prices ``claude-haiku-4-5-20251001``.
DEFAULT_PRICES: dict[str, Price] = {
    # Anthropic
    "claude-haiku-4-5": Price(input_per_mtok=1.00, output_per_mtok=5.00),
    "claude-3-5-haiku": Price(input_per_mtok=0.80, output_per_mtok=4.00),
    "claude-sonnet-4-5": Price(input_per_mtok=3.00, output_per_mtok=15.00),
    "claude-sonnet-4": Price(input_per_mtok=3.00, output_per_mtok=15.00),
    # OpenAI text
    "gpt-4o-mini": Price(input_per_mtok=0.15, output_per_mtok=0.60),
    "gpt-4o": Price(input_per_mtok=2.50, output_per_mtok=10.00),
    "gpt-4.1-mini": Price(input_per_mtok=0.40, output_per_mtok=1.60),
    "gpt-4.1-nano": Price(input_per_mtok=0.10, output_per_mtok=0.40),
    "gpt-4.1": Price(input_per_mtok=2.00, output_per_mtok=8.00),
    # OpenAI speech-to-text: the published per-minute estimates (token-billed models included),
    # applied to the locally measured duration so the estimate does not depend on the response.
    "gpt-4o-mini-transcribe": Price(per_audio_minute=0.003),
    "gpt-4o-transcribe": Price(per_audio_minute=0.006),
    "whisper-1": Price(per_audio_minute=0.006),
}


def price_table(overrides: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Price]:
    """The defaults with ``overrides`` applied per model; an override may give only some fields.

    ``overrides`` looks like ``{"gpt-4o-mini": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}}``.
    Raises ValueError on an unknown field or a negative or non-numeric value, so a typo in the
    configuration fails loudly instead of silently pricing at zero.
    """
    table = dict(DEFAULT_PRICES)
    allowed = {f.name for f in fields(Price)}
    for model, entry in (overrides or {}).items():
        if not isinstance(entry, Mapping):
            raise ValueError(f"price override for {model!r} must be an object with fields {sorted(allowed)}")
        unknown = set(entry) - allowed
        if unknown:
            raise ValueError(
                f"price override for {model!r} has unknown fields {sorted(unknown)}; allowed: {sorted(allowed)}"
            )
        values: dict[str, float] = {}
        for key, value in entry.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(
                    f"price override {model!r}.{key} must be a non-negative number, got {value!r}"
                )
            values[key] = float(value)
        base = table.get(model, Price())
        table[model] = Price(**{**{f.name: getattr(base, f.name) for f in fields(Price)}, **values})
    return table


def lookup(model: str, prices: Mapping[str, Price]) -> Price | None:
    """The exact entry for ``model``, else the longest key that prefixes it (dated snapshots)."""
    if model in prices:
        return prices[model]
    matches = [key for key in prices if model.startswith(key)]
    return prices[max(matches, key=len)] if matches else None


def estimate_cost(
    model: str,
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
    audio_seconds: float = 0.0,
    prices: Mapping[str, Price] | None = None,
) -> float:
    """Estimated USD for one call's usage; 0.0 (with a warning) for a model without a price."""
    price = lookup(model, prices if prices is not None else DEFAULT_PRICES)
    if price is None:
        logger.warning("no price for model %r: cost recorded as 0; add it to the price overrides", model)
        return 0.0
    cost = (
        input_tokens * price.input_per_mtok / 1_000_000
        + output_tokens * price.output_per_mtok / 1_000_000
        + audio_seconds / 60.0 * price.per_audio_minute
    )
    return round(cost, 8)
