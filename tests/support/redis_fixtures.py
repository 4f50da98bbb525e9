"""Redis fixtures: a password-protected ``redis-server`` of the tests' own (or ``TEST_REDIS_URL``), and a
spare database number per test.

The deployment's Redis requires a password (deploy/README.md), so the tests run against one that does:
a client configured without it would fail here as it would in production.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import free_port, spare_redis_db


def own_redis(tmp: Path) -> Iterator[str]:
    """A ``redis-server --requirepass`` on a free port (its URL has the password), stopped afterwards."""
    import redis

    port, password = free_port(), secrets.token_hex(12)
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--requirepass", password,
         "--save", "", "--appendonly", "no", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"redis://:{password}@127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(url, socket_connect_timeout=1).ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``TEST_REDIS_URL`` if set, else a ``redis-server --requirepass`` started here; neither: a visible skip."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "").strip()
    if not url:
        if shutil.which("redis-server") is None:
            pytest.skip("no redis-server on PATH and no TEST_REDIS_URL; install Redis or set TEST_REDIS_URL")
        yield from own_redis(tmp_path_factory.mktemp("redis"))
        return
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is unreachable at {url} ({exc}); start one or set TEST_REDIS_URL")
    yield url


@pytest.fixture
def redis_db(redis_server_url: str) -> Iterator[str]:
    with spare_redis_db(redis_server_url) as url:
        yield url
