"""The seam through which a provider reuses what it already paid for, one request at a time.

A provider that splits its input into several paid requests (speech-to-text chunks of a long
recording) stores each request's result under a key it derives from everything the result depends
on, so a retry after a failure on request k pays only for requests k onwards. The stage builds the
cache over its memo (``Memo.stage``); a provider given none simply pays for every request.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class ChunkCache(Protocol):
    """Stored results of single provider requests, by key; ``get`` returns None on a miss."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


def chunk_key(payload: bytes, *parts: str) -> str:
    """The key of one request: the hash of what is sent, and whatever else shapes the answer."""
    digest = hashlib.sha256(payload).hexdigest()
    return hashlib.sha256(json.dumps([digest, *parts]).encode()).hexdigest()


def call_with_cache(method: Callable[..., T], chunk_cache: ChunkCache | None, *args: Any, **kwargs: Any) -> T:
    """``method(*args, **kwargs)``, with ``chunk_cache=`` added when the method takes one.

    The cache is an optional capability, not part of the provider Protocols, so a provider with
    nothing to reuse (a local recognizer, the rules) keeps the plain signature.
    """
    if chunk_cache is not None and "chunk_cache" in inspect.signature(method).parameters:
        kwargs["chunk_cache"] = chunk_cache
    return method(*args, **kwargs)
