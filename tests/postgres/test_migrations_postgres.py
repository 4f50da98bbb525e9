"""Status-store migrations on a real PostgreSQL: a database from before migrations, with rows, upgrades intact."""

from __future__ import annotations

import pytest

from tests.unit.status.test_migrations import check_upgraded_legacy

pytestmark = pytest.mark.postgres


def test_upgrade_from_the_schema_before_migrations_keeps_every_row(fresh_database: str) -> None:
    check_upgraded_legacy(fresh_database)
