"""Session rows record when the upload was complete and how many words the transcript has.

Revision ID: 0002
Revises: 0001

``upload_completed_at``: when the upload was complete (S3 ``LastModified`` of the folder's newest
object; a local file's modification time when it is not older than the sensor's first sight, else
that first sight), what ``pipeline_health`` measures upload -> DONE from. ``word_count``: the
stored transcript's words. Both nullable: rows from before this revision keep NULL, and the views
fall back to ``uploaded_at`` and the transcript document.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("upload_completed_at", sa.DateTime(timezone=True)),
    ("word_count", sa.Integer()),
)


def upgrade() -> None:
    existing = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("session_status")}
    with op.batch_alter_table("session_status") as batch:
        for name, type_ in _COLUMNS:
            if name not in existing:
                batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("session_status") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
