"""Redis fixtures: the server CI provides (``TEST_REDIS_URL``) and a spare database number per test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.cluster import spare_redis_db


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    """``TEST_REDIS_URL`` or the local default; unreachable, the tests skip visibly (and fail in CI)."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").strip()
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is unreachable at {url} ({exc}); start one or set TEST_REDIS_URL")
    return url


@pytest.fixture
def redis_db(redis_server_url: str) -> Iterator[str]:
    with spare_redis_db(redis_server_url) as url:
        yield url
