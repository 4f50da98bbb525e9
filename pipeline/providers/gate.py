"""Every HTTP request to a cloud provider passes the instance's shared budget first.

The SDK clients are built on an ``httpx2`` client (the HTTP package the installed ``openai`` and
``anthropic`` SDKs import) whose transport takes a lease from ``pipeline.status.budget`` before each
request, the SDK's own retries included, and gives it back with the tokens the answer reports and a
``429``'s ``retry-after``, which pauses that provider for every run of the instance.

Which budget, priority and counters apply is bound per thread (``bound``): the runner binds its
run's in each of its threads, so a provider object needs no knowledge of runs. A request made with
nothing bound (a unit test of a provider) goes straight through.

``hang_up`` ends a terminated run's calls in flight: it shuts down the provider connections of the
process (a run owns its process) so the provider sees the client leave, and refuses the run's
further requests (the SDK's retries included) before they are sent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol


class ProviderBudget(Protocol):
    """What the gate needs of the instance's budget (``pipeline.status.budget.ProviderBudget``)."""

    def acquire(self, provider: str, *, priority: int = 0, input_tokens: int = 0) -> Any: ...

    def release(
        self,
        lease: Any,
        *,
        input_tokens: int | None = None,
        output_tokens: int = 0,
        retry_after: float | None = None,
    ) -> None: ...


@dataclass
class CallStats:
    """What a run's provider requests cost it: requests, seconds waited for the budget, 429s met."""

    calls: int = 0
    waited_seconds: float = 0.0
    rate_limited: int = 0
    #: Set by ``hang_up``: the run was terminated, its requests are no longer sent.
    hung_up: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, waited: float, status: int) -> None:
        with self._lock:
            self.calls += 1
            self.waited_seconds += waited
            self.rate_limited += status == 429


@dataclass(frozen=True)
class Binding:
    budget: ProviderBudget | None
    priority: int
    stats: CallStats


_local = threading.local()


@contextmanager
def bound(budget: ProviderBudget | None, priority: int, stats: CallStats) -> Iterator[None]:
    """Requests made by this thread inside the block draw from ``budget`` at ``priority``."""
    previous = getattr(_local, "binding", None)
    _local.binding = Binding(budget, priority, stats)
    try:
        yield
    finally:
        _local.binding = previous


#: Every provider connection this process opened (weakly: closed ones drop out).
_connections: weakref.WeakSet[socket.socket] = weakref.WeakSet()


def hang_up(stats: CallStats) -> int:
    """Stop the calls of the run counting into ``stats``: no new request is sent, and the provider
    connections of this process are shut down (a blocked read returns at once, the provider sees the
    client leave). Returns how many connections were shut down."""
    stats.hung_up.set()
    count = 0
    for sock in list(_connections):
        try:
            sock.shutdown(socket.SHUT_RDWR)
            count += 1
        except OSError:  # closed meanwhile
            continue
    return count


def _retry_after(headers: Any) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return float(value) * scale
            except ValueError:
                return None  # an HTTP date: the SDK's backoff applies, the instance is paused 1 s
    return None


def _usage(body: bytes) -> tuple[int | None, int]:
    """(input, output) tokens an answer reports (Anthropic's and OpenAI's shapes)."""
    try:
        usage = json.loads(body).get("usage") or {}
    except (ValueError, AttributeError):
        return None, 0
    if not isinstance(usage, dict):
        return None, 0
    inp = usage.get("input_tokens", usage.get("prompt_tokens"))
    out = usage.get("output_tokens", usage.get("completion_tokens", 0))
    return (int(inp) if isinstance(inp, int) else None), (int(out) if isinstance(out, int) else 0)


def gated_http_client(provider: str, timeout: float) -> Any:
    """An ``httpx2.Client`` whose every request draws from the bound budget of ``provider``."""
    import httpcore2
    import httpx2

    class TrackedBackend(httpcore2.SyncBackend):
        """httpcore's own backend, remembering each socket so ``hang_up`` can shut it down."""

        def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:
            stream = super().connect_tcp(*args, **kwargs)
            _connections.add(stream.get_extra_info("socket"))
            return stream

    class GateTransport(httpx2.BaseTransport):
        def __init__(self) -> None:
            self.inner = httpx2.HTTPTransport(
                limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=200)
            )
            self.inner._pool._network_backend = TrackedBackend()  # no public parameter for it

        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            binding: Binding | None = getattr(_local, "binding", None)
            if binding is not None and binding.stats.hung_up.is_set():
                raise httpx2.ConnectError("not sent: the run was terminated", request=request)
            if binding is None or binding.budget is None:
                response = self.inner.handle_request(request)
                if binding is not None:
                    binding.stats.add(0.0, response.status_code)
                return response
            size = int(request.headers.get("content-length") or 0)
            start = time.monotonic()
            lease = binding.budget.acquire(provider, priority=binding.priority, input_tokens=size // 4)
            waited = time.monotonic() - start
            try:
                response = self.inner.handle_request(request)
            except BaseException:
                if lease is not None:
                    binding.budget.release(lease)
                raise
            binding.stats.add(waited, response.status_code)
            if lease is not None:
                retry_after = None
                if response.status_code == 429:
                    retry_after = _retry_after(response.headers) or 1.0
                inp, out = None, 0
                if response.status_code == 200 and "json" in response.headers.get("content-type", ""):
                    inp, out = _usage(response.read())
                binding.budget.release(lease, input_tokens=inp, output_tokens=out, retry_after=retry_after)
            return response

        def close(self) -> None:
            self.inner.close()

    return httpx2.Client(transport=GateTransport(), timeout=timeout)
