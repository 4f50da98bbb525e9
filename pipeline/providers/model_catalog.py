"""The maintained table of model prices and context windows: ``genai-prices``' bundled snapshot.

``genai-prices`` (pydantic's price table for the major providers, pinned in ``pyproject.toml``)
ships a snapshot of its data in the package. Only that snapshot is read, through a snapshot
object of our own: the library's auto-update (``UpdatePrices``, which fetches a newer table over
the network in a background thread) is never started, so a lookup never touches the network and
the prices a run uses change only with the pinned version. It is imported at the first lookup,
not with the code location (about 0.15 s).

The overrides (``PRICES_JSON``, ``CONTEXT_WINDOWS_JSON``) and the few hand entries that correct
or complete it live in ``pricing`` and ``analysis.context``; this module only answers what the
maintained table says, or None when it does not know.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from genai_prices.data_snapshot import DataSnapshot
    from genai_prices.types import ModelInfo, ModelPrice

T = TypeVar("T")

#: What may follow a name for an entry of it to apply: a dated snapshot's date, or ``-latest``.
_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest)")


def entry_for(model: str, table: Mapping[str, T]) -> T | None:
    """``table``'s entry (an override, a hand entry) for ``model`` or for the model it is a dated
    snapshot of (``gpt-4o-2024-08-06`` takes ``gpt-4o``'s). Not any prefix: an override of ``gpt-4o``
    must not apply to ``gpt-4o-mini``."""
    if model in table:
        return table[model]
    for key, value in table.items():
        if model.startswith(key) and _SNAPSHOT.fullmatch(model[len(key) :]):
            return value
    return None


@cache
def _snapshot() -> DataSnapshot:
    from genai_prices.data import providers
    from genai_prices.data_snapshot import DataSnapshot

    return DataSnapshot(providers=providers, from_auto_update=False)


def load() -> None:
    """Read the table now rather than at the first lookup (a process that forks its runs does it once)."""
    _snapshot()


def _model(model: str, provider: str | None) -> ModelInfo | None:
    """The table's entry for ``model`` (dated snapshots and aliases included), at ``provider`` when given."""
    try:
        return _snapshot().find_provider_model(model, None, provider, None)[1]
    except LookupError:
        return None


def _prices(model: str, provider: str | None) -> tuple[ModelInfo, ModelPrice] | None:
    info = _model(model, provider)
    return None if info is None else (info, info.get_prices(datetime.now(UTC)))


def _base(value: Any) -> float | None:
    """A flat price (a tiered one's base tier), or None when the table has none."""
    if value is None:
        return None
    return float(value if isinstance(value, Decimal) else value.base)


def context_window(model: str, provider: str | None = None) -> int | None:
    """The table's context window of ``model`` in tokens, or None when it does not know one."""
    info = _model(model, provider)
    return info.context_window if info is not None else None


def cost(
    model: str,
    provider: str | None = None,
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
    audio_seconds: float = 0.0,
) -> float | None:
    """USD for this usage by the table (tiers included), or None when it has no price for it.

    "No price" includes a known model priced in other units than the usage: ``gpt-4o-transcribe``
    is priced per audio token, so audio seconds alone cannot be priced from it.
    """
    found = _prices(model, provider)
    if found is None:
        return None
    info, prices = found
    if input_tokens and prices.input_mtok is None:
        return None
    if output_tokens and prices.output_mtok is None:
        return None
    if audio_seconds and prices.audio_hours is None:
        return None
    from genai_prices.types import Usage

    usage = Usage(input_tokens=int(input_tokens), output_tokens=int(output_tokens))
    if audio_seconds:
        usage.audio_seconds = float(audio_seconds)  # a plain float: the library refuses numpy's
    return float(prices.calc_price(usage)["total_price"])


def flat_rates(model: str, provider: str | None = None) -> dict[str, float]:
    """The table's prices of ``model`` in ``pricing.Price``'s fields (base tiers), for partial overrides."""
    found = _prices(model, provider)
    if found is None:
        return {}
    _, prices = found
    hours = _base(prices.audio_hours)
    rates = {
        "input_per_mtok": _base(prices.input_mtok),
        "output_per_mtok": _base(prices.output_mtok),
        "per_audio_minute": None if hours is None else hours / 60.0,
    }
    return {key: value for key, value in rates.items() if value is not None}
