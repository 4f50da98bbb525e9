"""Pytest fixtures for the fake S3 server: import them into a conftest or a test module."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import pytest

from tests.support.s3_server import S3Bucket, create_bucket, make_client, moto_s3_server


@lru_cache(maxsize=4)
def _shared_client(endpoint: str) -> Any:
    # Building a boto3 client costs ~0.15 s; clients are thread-safe, so tests share one per server.
    # A test that registers event hooks must build its own with make_client().
    return make_client(endpoint)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """One moto server per test session (starting one takes tens of milliseconds, but it need not repeat)."""
    with moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(s3_server: str) -> S3Bucket:
    """A fresh, empty bucket per test on the shared server."""
    return create_bucket(s3_server, _shared_client(s3_server))
