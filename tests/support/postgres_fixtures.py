"""PostgreSQL fixtures: a real server from TEST_POSTGRES_URL and a throwaway database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The server CI provides; without it these tests skip visibly (and fail in CI, see tests/support/sessions.py)."""
    raw = os.environ.get("TEST_POSTGRES_URL", "").strip()
    if not raw:
        pytest.skip("TEST_POSTGRES_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    return raw


@contextmanager
def throwaway_database(postgres_url: str) -> Iterator[str]:
    """A new empty database on the test server, dropped afterwards (for fixtures of any scope)."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            # FORCE ends connections a daemon or a pool may still hold (PostgreSQL 13+).
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture
def fresh_database(postgres_url: str) -> Iterator[str]:
    """A new empty database on the test server, dropped afterwards.

    A database of its own keeps Dagster's tables and the ``session_status`` rows of one test from
    meeting another's (or a developer's), with no cleanup logic that could miss a row.
    """
    with throwaway_database(postgres_url) as url:
        yield url
