"""The seam through which a provider reuses what it already paid for, one request at a time.

A provider that splits its input into several paid requests (speech-to-text chunks of a long
recording) stores each request's result under a key it derives from everything the result depends
on, so a retry after a failure on request k pays only for requests k onwards. The stage builds the
cache over its memo (``Memo.stage``); a provider given none simply pays for every request.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol


class ChunkCache(Protocol):
    """Stored results of single provider requests, by key; ``get`` returns None on a miss."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


def chunk_key(payload: bytes, *parts: str) -> str:
    """The key of one request: the hash of what is sent, and whatever else shapes the answer."""
    digest = hashlib.sha256(payload).hexdigest()
    return hashlib.sha256(json.dumps([digest, *parts]).encode()).hexdigest()
