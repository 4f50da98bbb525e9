"""One seam for local folders and S3: the sensor and assets never know which one they use."""

from __future__ import annotations

from pipeline.storage.base import ObjectInfo, Storage
from pipeline.storage.local import LocalStorage

__all__ = ["LocalStorage", "ObjectInfo", "Storage", "open_storage"]


def open_storage(uri: str, *, s3_client: object | None = None) -> Storage:
    """Build the storage for ``uri``: ``s3://bucket/prefix`` or a local folder path."""
    if uri.startswith("s3://"):
        from pipeline.storage.s3 import S3Storage

        if s3_client is None:
            raise ValueError(f"{uri} is an S3 URI but no S3 client was given")
        return S3Storage.from_uri(uri, s3_client)
    if "://" in uri and not uri.startswith("file://"):
        raise ValueError(f"unsupported storage URI {uri!r}: use a local path or s3://bucket/prefix")
    return LocalStorage(uri.removeprefix("file://"))
