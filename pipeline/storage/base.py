"""The storage contract: keys are '/'-separated paths relative to the storage root."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pipeline.domain.errors import PermanentError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    modified: float  # seconds since the epoch
    etag: str | None = None  # S3's entity tag; None for local files
    #: Why this entry cannot be an upload (a FIFO, a symlink leaving the root), for the uploader;
    #: listings report such entries instead of raising, so one folder never stops discovery.
    problem: str | None = None

    @property
    def version(self) -> str:
        """Identifies this content of the object without reading it: the ETag, else size and mtime."""
        return f"etag:{self.etag}" if self.etag else f"stat:{self.size}:{self.modified:.6f}"


class Storage(ABC):
    """Bytes and JSON documents under one root; writes are atomic (readers never see half a file)."""

    uri: str

    @abstractmethod
    def read_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo | None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under ``prefix``, recursively, in no particular order."""

    @abstractmethod
    def tree(self, prefix: str) -> Iterator[str]:
        """Every key under the folder ``prefix``, hidden names and temp files included (for erasure)."""

    @abstractmethod
    def delete_tree(self, prefix: str) -> int:
        """Delete the folder ``prefix`` and everything under it; returns how many objects went."""

    @abstractmethod
    def local_file(self, key: str) -> AbstractContextManager[Path]:
        """A local path holding the object's bytes for as long as the context is open."""

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def read_json(self, key: str) -> Any:
        return json.loads(self.read_bytes(key))

    def write_json(self, key: str, document: Any) -> None:
        self.write_bytes(key, json.dumps(document, indent=2, sort_keys=True, default=str).encode())

    def read_model(self, key: str, model: type[M]) -> M:
        """A stored document as ``model``; one that cannot be read is a PermanentError naming it.

        Re-reading a truncated or old-schema document gives the same error, so retrying is useless:
        the message says what to do instead.
        """
        raw = self.read_bytes(key)
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors(include_input=False, include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "document"
            raise PermanentError(
                f"stored {model.__name__} document {self.describe(key)} is unreadable ({where}: "
                f"{first['msg']}; {exc.error_count()} problem(s)): delete it to recompute it, or "
                "re-run the stage that writes it"
            ) from None

    def write_model(self, key: str, document: BaseModel) -> None:
        self.write_bytes(key, document.model_dump_json(indent=2).encode())

    def describe(self, key: str) -> str:
        """A human-readable location of ``key`` for messages and metadata."""
        return f"{self.uri.rstrip('/')}/{key}"
