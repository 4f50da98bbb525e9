"""Memoization of paid provider results.

Keyed by (input content hash, provider, model, prompt version): a retry or re-execution never pays
twice for a step that already succeeded, while a prompt or model change gets a new key and recomputes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from pipeline.storage import Storage

log = logging.getLogger(__name__)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Memo:
    def __init__(self, storage: Storage, prefix: str = "_memo") -> None:
        self.storage = storage
        self.prefix = prefix

    @staticmethod
    def key(*parts: str) -> str:
        return sha256_hex(json.dumps(parts).encode())

    def _path(self, stage: str, key: str) -> str:
        return f"{self.prefix}/{stage}/{key[:2]}/{key}.json"

    def get(self, stage: str, key: str) -> dict[str, Any] | None:
        try:
            return self.storage.read_json(self._path(stage, key))
        except FileNotFoundError:
            return None
        except ValueError:
            log.warning("ignoring unreadable memo entry %s/%s", stage, key)
            return None

    def put(self, stage: str, key: str, document: dict[str, Any]) -> None:
        self.storage.write_json(self._path(stage, key), document)

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
