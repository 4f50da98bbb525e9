"""Each provider's account limits, for the whole instance: ``PROVIDER_LIMITS_JSON`` over conservative defaults.

A provider's account allows so many requests and tokens per minute (and the vendors advise a
bounded number at once); every run and process of the instance draws from that one budget
(``pipeline.status.budget``). The defaults are each vendor's lowest paid tier, so a new deployment
never runs into 429s; raise them to the account's tier (see docs/providers.md#sizing-the-limits):

- Anthropic, Tier 1 (Claude Haiku/Sonnet): 50 requests/min, 50,000 input and 10,000 output tokens/min.
- OpenAI, Tier 1 (gpt-4o-mini, whisper-1): 500 requests/min, 200,000 tokens/min.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from pipeline.config.settings import ConfigError


@dataclass(frozen=True)
class ProviderLimits:
    """One provider's limits; None: not limited by that measure."""

    concurrency: int = 16  # requests in flight at once
    rpm: int | None = None  # requests per rolling minute
    tpm: int | None = None  # input + output tokens per minute (OpenAI counts them together)
    input_tpm: int | None = None  # input tokens per minute (Anthropic)
    output_tpm: int | None = None  # output tokens per minute (Anthropic)
    lease_seconds: float = 600.0  # a crashed run's requests stop counting as in flight after this
    window_seconds: float = 60.0  # the vendors count per rolling minute (tests shorten it)


DEFAULT_LIMITS: dict[str, ProviderLimits] = {
    "anthropic": ProviderLimits(concurrency=16, rpm=50, input_tpm=50_000, output_tpm=10_000),
    "openai": ProviderLimits(concurrency=16, rpm=500, tpm=200_000),
}
_FIELDS = {f.name for f in fields(ProviderLimits)}


def parse_limits(raw: str) -> dict[str, ProviderLimits]:
    """The defaults, overridden per provider and field by ``raw`` (``PROVIDER_LIMITS_JSON``)."""
    limits = dict(DEFAULT_LIMITS)
    if not raw.strip():
        return limits
    try:
        given = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"PROVIDER_LIMITS_JSON is not valid JSON: {exc}") from None
    example = '{"anthropic": {"concurrency": 50, "rpm": 1000, "input_tpm": 400000}}'
    if not isinstance(given, dict):
        raise ConfigError(f"PROVIDER_LIMITS_JSON must be an object like {example}")
    for provider, values in given.items():
        if not isinstance(values, Mapping) or set(values) - _FIELDS:
            raise ConfigError(
                f"PROVIDER_LIMITS_JSON[{provider!r}] must be an object with keys among {sorted(_FIELDS)}, "
                f"like {example}"
            )
        if any(v is not None and (not isinstance(v, int | float) or v <= 0) for v in values.values()):
            raise ConfigError(f"PROVIDER_LIMITS_JSON[{provider!r}]: every limit must be a positive number")
        limits[provider.lower()] = replace(limits.get(provider.lower(), ProviderLimits()), **values)
    return limits
