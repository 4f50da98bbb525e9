"""Alembic's environment: runs on the connection ``pipeline.status.migrations.upgrade`` passes in."""

from __future__ import annotations

from alembic import context

from pipeline.status.migrations import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
