"""Estimated cost of cloud provider calls, in USD, or None when no price is known.

Providers report token counts, not money. Prices come from one maintained table, ``genai-prices``'
bundled snapshot (``model_catalog``), with two layers on top, first match wins: the operator's
overrides (a ``PRICES_JSON`` environment variable, applied by the resource layer without a code
change) and the hand entries below. A model none of them prices has an unknown cost: None, logged
as a warning naming the model, never a 0 that reads as free. An estimate is for dashboards and
budgets, never for billing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields

from pipeline.providers import model_catalog

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Price:
    """USD per million input/output tokens, and per minute of audio for speech-to-text models."""

    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0
    per_audio_minute: float = 0.0


#: What the maintained table lacks or prices in units the pipeline does not measure. An entry also
#: prices the model's dated snapshots (``gpt-4o-transcribe-2025-03-20``).
HAND_PRICES: dict[str, Price] = {
    # OpenAI's published per-minute estimates of its token-billed transcription models (the table
    # prices them per audio token), applied to the locally measured duration so that the estimate
    # does not depend on the response. whisper-1 is priced per minute by the table itself.
    "gpt-4o-mini-transcribe": Price(per_audio_minute=0.003),
    "gpt-4o-transcribe": Price(per_audio_minute=0.006),
}


def price_table(overrides: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Price]:
    """The hand entries with ``overrides`` applied per model; an override may give only some fields,
    the others coming from the hand entry or else the maintained table.

    ``overrides`` looks like ``{"gpt-4o-mini": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}}``.
    Raises ValueError on an unknown field or a negative or non-numeric value, so a typo in the
    configuration fails loudly instead of silently pricing at zero.
    """
    table = dict(HAND_PRICES)
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
        base = table.get(model) or Price(**model_catalog.flat_rates(model))
        table[model] = Price(**{**{f.name: getattr(base, f.name) for f in fields(Price)}, **values})
    return table


def lookup(model: str, prices: Mapping[str, Price]) -> Price | None:
    """The entry for ``model``, or for the model it is a dated snapshot of (``gpt-4o-2024-08-06`` is
    priced as ``gpt-4o``). Not any prefix: an override of ``gpt-4o`` must not price ``gpt-4o-mini``."""
    return model_catalog.entry_for(model, prices)


def estimate_cost(
    model: str,
    *,
    provider: str | None = None,
    input_tokens: int = 0,
    output_tokens: int = 0,
    audio_seconds: float = 0.0,
    prices: Mapping[str, Price] | None = None,
) -> float | None:
    """Estimated USD for one call's usage: from ``prices`` (overrides and hand entries), else from the
    maintained table (at ``provider``, e.g. ``"openai"``, when given); None, with a warning, when
    neither prices it."""
    price = lookup(model, prices if prices is not None else HAND_PRICES)
    if price is not None:
        cost: float | None = (
            input_tokens * price.input_per_mtok / 1_000_000
            + output_tokens * price.output_per_mtok / 1_000_000
            + audio_seconds / 60.0 * price.per_audio_minute
        )
    else:
        cost = model_catalog.cost(
            model,
            provider,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            audio_seconds=audio_seconds,
        )
    if cost is None:
        logger.warning(
            "no price known for model %r: its cost is recorded as unknown (not 0); set its price in PRICES_JSON",
            model,
        )
        return None
    return round(cost, 8)
