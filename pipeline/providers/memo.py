"""Memoization of paid provider results: whole stage results, and single requests of a split input.

Keyed by (input content hash, provider, model, prompt version): a retry or re-execution never pays
twice for a step that already succeeded, while a prompt or model change gets a new key and recomputes.

A provider that splits its input into several paid requests (speech-to-text chunks of a long
recording, analysis parts of a long transcript) stores each request's result under a key it derives
from everything the result depends on (``chunk_key``), through a ``ChunkCache``: a retry after a
failure on request k pays only for requests k onwards. The stage hands the provider one stage of its
memo (``Memo.stage``); a provider given none simply pays for every request.

A run's sessions go through their stages in several threads at once: two sessions with the same
input (the same transcript uploaded twice) must not both pay for it, so a stage holds
``Memo.lock(stage, key)`` around its look-up, call and store; the second waits and then finds the
first one's result.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from pipeline.storage import Storage

log = logging.getLogger(__name__)
T = TypeVar("T")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class KeyedLocks:
    """One lock per key, created on demand and dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


_IN_FLIGHT = KeyedLocks()  # per process: every run's threads in this process share it


class Memo:
    def __init__(self, storage: Storage, prefix: str = "_memo") -> None:
        self.storage = storage
        self.prefix = prefix

    @staticmethod
    def key(*parts: str) -> str:
        return sha256_hex(json.dumps(parts).encode())

    def path(self, stage: str, key: str) -> str:
        """The storage key of one entry (erasure deletes entries by it)."""
        return f"{self.prefix}/{stage}/{key[:2]}/{key}.json"

    def get(self, stage: str, key: str) -> dict[str, Any] | None:
        try:
            return self.storage.read_json(self.path(stage, key))
        except FileNotFoundError:
            return None
        except ValueError:
            log.warning("ignoring unreadable memo entry %s/%s", stage, key)
            return None

    def put(self, stage: str, key: str, document: dict[str, Any]) -> None:
        self.storage.write_json(self.path(stage, key), document)

    def lock(self, stage: str, key: str) -> Any:
        """Held while one thread computes ``key``: another thread asking for it waits, then reuses it."""
        return _IN_FLIGHT.hold(f"{self.prefix}/{stage}/{key}")

    def stage(self, stage: str) -> StageCache:
        """One stage of this memo as a plain key -> document cache (what a provider's ``ChunkCache`` is)."""
        return StageCache(self, stage)


class StageCache:
    """``Memo`` entries of one stage, read and written by key alone."""

    def __init__(self, memo: Memo, stage: str) -> None:
        self.memo = memo
        self.name = stage

    def get(self, key: str) -> dict[str, Any] | None:
        return self.memo.get(self.name, key)

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.memo.put(self.name, key, value)


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
