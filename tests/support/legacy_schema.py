"""A status database as releases before migrations left it, with rows in every table.

The first release's ``session_status`` lacked the columns ``ensure_columns`` added later, so the
oldest shape is the one built here: revision 0001 must add those columns without moving a row.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

_meta = sa.MetaData()
sessions = sa.Table(
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
)
rejections = sa.Table(
    "upload_rejections",
    _meta,
    sa.Column("folder", sa.String(1024), primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
)
registry = sa.Table(
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
)
feed_state = sa.Table(
    "upload_feed_state",
    _meta,
    sa.Column("tick", sa.Integer, primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
)

SESSIONS = 120
WHEN = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def build(url: str) -> None:
    """Create the pre-migration tables on ``url`` and fill them (``SESSIONS`` sessions and more)."""
    engine = sa.create_engine(url)
    try:
        _meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                sessions.insert(),
                [
                    {
                        "session_id": f"s{i:03d}",
                        "learner_id": f"l{i % 7}",
                        "state": "DONE" if i % 3 else "FAILED",
                        "error": None if i % 3 else "audio.wav could not be decoded",
                        "updated_at": WHEN,
                        "run_id": f"run-{i}",
                    }
                    for i in range(SESSIONS)
                ],
            )
            conn.execute(
                rejections.insert(),
                [{"folder": "bad folder/x", "reason": "not an id", "first_seen": WHEN, "last_seen": WHEN}],
            )
            conn.execute(
                registry.insert(),
                [
                    {
                        "folder": f"l{i % 7}/s{i:03d}",
                        "learner_id": f"l{i % 7}",
                        "session_id": f"s{i:03d}",
                        "listing": "d" * 64,
                        "changed_at": 1.0,
                        "first_seen": 1.0,
                        "latest_mtime": 1.0,
                        "has_manifest": True,
                        "requested_version": f"sha256:{i}",
                        "open": False,
                    }
                    for i in range(SESSIONS)
                ],
            )
            conn.execute(feed_state.insert(), [{"tick": 4, "state": "{}"}])
    finally:
        engine.dispose()
