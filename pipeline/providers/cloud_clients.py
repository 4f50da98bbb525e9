"""One lazily built SDK client per provider object, and calls through it with classified errors.

The SDK is imported when the first call needs it, so building a provider (and importing this
module) never requires the SDK or the network. Only what is explicitly given is passed to the
client: with ``base_url=None`` the SDK reads ``OPENAI_BASE_URL`` / ``ANTHROPIC_BASE_URL`` itself, and
with ``api_key=None`` it reads its key variable itself.

Retries are the SDK's own: ``max_retries`` retries after the first attempt (so ``max_retries + 1``
HTTP attempts at most) on connection errors, timeouts, 408, 409, 429 and 5xx, waiting for
``retry-after`` when the server sends one and an exponential backoff from 0.5 s otherwise.
``timeout_seconds`` bounds each attempt, not the whole call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pipeline.providers.cloud_errors import ANTHROPIC, OPENAI, Vendor, classify
from pipeline.providers.pricing import price_table

T = TypeVar("T")


class CloudClient:
    """An SDK client for ``vendor`` created on first use; ``call`` turns SDK errors into ours."""

    def __init__(
        self,
        vendor: Vendor,
        *,
        api_key: str | None,
        model: str,
        timeout_seconds: float,
        max_retries: int,
        base_url: str | None = None,
    ) -> None:
        if vendor not in (OPENAI, ANTHROPIC):
            raise ValueError(f"unsupported vendor {vendor.label!r}")
        if max_retries < 0 or timeout_seconds <= 0:
            raise ValueError("max_retries must be >= 0 and timeout_seconds > 0")
        self.vendor = vendor
        self.model = model
        self.max_retries = max_retries
        self._api_key = api_key
        self._timeout = timeout_seconds
        self._base_url = base_url
        self._client: Any = None

    def __repr__(self) -> str:  # never show the key
        return f"CloudClient({self.vendor.label}, model={self.model!r})"

    def _build(self) -> Any:
        from pipeline.providers.gate import gated_http_client

        kwargs: dict[str, Any] = {
            "timeout": self._timeout,
            "max_retries": self.max_retries,
            # every request, retries included, draws from the instance's budget of this provider
            "http_client": gated_http_client(self.vendor.label.lower(), self._timeout),
        }
        if self._base_url is not None:
            kwargs["base_url"] = self._base_url
        if self._api_key is not None:
            kwargs["api_key"] = self._api_key
        if self.vendor == OPENAI:
            import openai

            return openai.OpenAI(**kwargs)
        import anthropic

        return anthropic.Anthropic(**kwargs)

    def prepare(self) -> None:
        """Build the client now (importing an SDK takes ~1 s), so it is not counted as call latency."""
        self.call(lambda client: None)

    def call(self, fn: Callable[[Any], T]) -> T:
        """``fn(client)``; SDK failures become PermanentError or TransientError (cause suppressed:
        SDK messages can echo parts of a key)."""
        try:
            if self._client is None:
                self._client = self._build()
            return fn(self._client)
        except Exception as exc:
            error = classify(
                exc, self.vendor, model=self.model, secret=self._api_key, attempts=self.max_retries + 1
            )
            if error is None:
                raise
            raise error from None


class CloudProvider:
    """What every cloud provider shares: its model, a lazily built SDK client and a price table."""

    vendor: Vendor

    def __init__(
        self,
        *,
        api_key: str | None,
        model: str,
        timeout_seconds: float = 60.0,
        max_retries: int = 2,
        base_url: str | None = None,
        prices: Mapping[str, Mapping[str, float]] | None = None,
    ) -> None:
        self.model = model
        self._api = CloudClient(
            self.vendor,
            api_key=api_key,
            model=model,
            timeout_seconds=timeout_seconds,
            max_retries=max_retries,
            base_url=base_url,
        )
        self._prices = price_table(prices)

    def __repr__(self) -> str:  # never show the key
        return f"{type(self).__name__}(model={self.model!r})"
