"""Baseline: the status store and upload registry as they were before migrations.

Revision ID: 0001
Revises:

Idempotent on purpose: a database created by an earlier release (by ``create_all`` and the old
``ensure_columns``) has some or all of these tables, possibly without the columns added later;
this revision creates what is missing and adds missing nullable columns, so no row moves. A new
database gets every table. The tables are spelled out here (a frozen copy), not imported from the
code, so later changes to the code's tables go in later revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_meta = sa.MetaData()
_TABLES = [
    sa.Table(
        "session_status",
        _meta,
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("learner_id", sa.String(64), nullable=False, index=True),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("media_key", sa.String(512), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("error_kind", sa.String(16), nullable=True),
        sa.Column("pattern_counts", sa.Text, nullable=True),
        sa.Column("profile_digest", sa.String(64), nullable=True),
        sa.Column("upload_version", sa.String(128), nullable=True),
        sa.Column("result_version", sa.String(128), nullable=True),
    ),
    sa.Table(
        "upload_rejections",
        _meta,
        sa.Column("folder", sa.String(1024), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    ),
    sa.Table(
        "upload_registry",
        _meta,
        sa.Column("folder", sa.String(160), primary_key=True),
        sa.Column("learner_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False, index=True),
        sa.Column("listing", sa.String(64), nullable=False),
        sa.Column("changed_at", sa.Float, nullable=False),
        sa.Column("first_seen", sa.Float, nullable=False),
        sa.Column("latest_mtime", sa.Float, nullable=False),
        sa.Column("has_manifest", sa.Boolean, nullable=False),
        sa.Column("media_key", sa.String(512), nullable=True),
        sa.Column("media_stat", sa.String(128), nullable=True),
        sa.Column("content_version", sa.String(128), nullable=True),
        sa.Column("requested_version", sa.String(128), nullable=True),
        sa.Column("pending_version", sa.String(128), nullable=True),
        sa.Column("pending_tick", sa.Integer, nullable=True),
        sa.Column("open", sa.Boolean, nullable=False, index=True),
    ),
    sa.Table(
        "upload_feed_state",
        _meta,
        sa.Column("tick", sa.Integer, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
    ),
]


def upgrade() -> None:
    bind = op.get_bind()
    _meta.create_all(bind, checkfirst=True)
    inspector = sa.inspect(bind)
    for table in _TABLES:
        existing = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in existing:  # only nullable columns were ever added later
                op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))


def downgrade() -> None:
    _meta.drop_all(op.get_bind(), checkfirst=True)
