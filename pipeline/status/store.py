"""The session status rows: the lifecycle of every session, queryable without Dagster.

SQLAlchemy Core over SQLite by default and PostgreSQL in production (``STATUS_DB_URL``). The rows
are also the session registry (session id -> learner, media, recorded_at), which lets backfills and
the per-learner profile find sessions without listing the uploads. Only the session lifecycle
(``pipeline.stages.lifecycle``) moves a session between states. The same database holds the
profile index, the learner locks and the rejected uploads (``profiles``, ``locks``, ``rejections``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from pipeline.domain.ids import is_valid_id
from pipeline.domain.models import SessionState, SessionStatus, utcnow
from pipeline.status.learner_lock import LearnerLocks
from pipeline.status.profile_index import ProfileIndex
from pipeline.status.rejections import Rejections
from pipeline.status.schema import aware, open_engine, sessions_table


class StatusStore:
    """The session rows; ``profiles``, ``locks`` and ``rejections`` share its database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.profiles = ProfileIndex(self.engine)
        self.locks = LearnerLocks(self.engine)
        self.rejections = Rejections(self.engine)

    def register(
        self,
        session_id: str,
        learner_id: str,
        *,
        media_key: str | None,
        uploaded_at: datetime | None,
        version: str | None = None,
        completed_at: datetime | None = None,
    ) -> bool:
        """Record a discovered session (or a new content version of it) as UPLOADED.

        Returns False, changing nothing, when the session is already known with this version: a
        replayed tick never resets a processed session. A new version of the same learner's
        session starts its lifecycle again; a row of another learner is never touched. The new
        version forgets the previous run's ``run_id``: the run that picks it up owns it, so that
        run's failure and cancel sensors can close it even if it dies before its step starts.
        """
        t = sessions_table
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(t.c.learner_id, t.c.upload_version).where(t.c.session_id == session_id)
            ).first()
            owned = row is not None and is_valid_id(row.learner_id) and row.learner_id != learner_id
            if row is not None and (owned or version is None or row.upload_version == version):
                return False
            values = {
                "learner_id": learner_id,
                "state": SessionState.UPLOADED.value,
                "media_key": media_key,
                "uploaded_at": uploaded_at,
                "upload_completed_at": completed_at or uploaded_at,
                "upload_version": version,
                "updated_at": utcnow(),
            }
            if row is None:
                conn.execute(t.insert().values(session_id=session_id, **values))
            else:
                conn.execute(
                    t.update()
                    .where(t.c.session_id == session_id)
                    .values(error=None, error_kind=None, run_id=None, word_count=None, **values)
                )
            return True

    def save_result_version(self, session_id: str, version: str, *, word_count: int | None = None) -> None:
        """Record which content version of the upload the session's stored results come from (and
        the stored transcript's words)."""
        with self.engine.begin() as conn:
            conn.execute(
                sessions_table.update()
                .where(sessions_table.c.session_id == session_id)
                .values(result_version=version, word_count=word_count)
            )

    def set_state(
        self,
        session_id: str,
        state: SessionState,
        *,
        learner_id: str | None = None,
        error: str | None = None,
        error_kind: str | None = None,
        recorded_at: datetime | None = None,
        run_id: str | None = None,
    ) -> None:
        """Move a session to ``state`` (creating the row if needed); an error only sticks with FAILED."""
        values: dict[str, object] = {
            "state": state.value,
            "error": error,
            "error_kind": error_kind if state is SessionState.FAILED else None,
            "updated_at": utcnow(),
        }
        if recorded_at is not None:
            values["recorded_at"] = recorded_at
        if learner_id:
            values["learner_id"] = learner_id
        if run_id:
            values["run_id"] = run_id
        with self.engine.begin() as conn:
            updated = conn.execute(
                sessions_table.update().where(sessions_table.c.session_id == session_id).values(**values)
            ).rowcount
            if not updated:
                conn.execute(
                    sessions_table.insert().values(session_id=session_id, **{"learner_id": "", **values})
                )

    def get(self, session_id: str) -> SessionStatus | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(sessions_table).where(sessions_table.c.session_id == session_id)
            ).first()
        return _to_status(row) if row else None

    def get_many(self, session_ids: Iterable[str]) -> dict[str, SessionStatus]:
        """The rows of ``session_ids`` that exist, in one query."""
        ids = list(session_ids)
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(sessions_table).where(sessions_table.c.session_id.in_(ids)))
            return {row.session_id: _to_status(row) for row in rows}

    def failed_in_runs(self, run_ids: Iterable[str]) -> list[SessionStatus]:
        """The sessions FAILED by one of ``run_ids`` (and not moved on since), by session id."""
        ids = list(run_ids)
        if not ids:
            return []
        t = sessions_table
        query = (
            sa.select(t)
            .where(t.c.run_id.in_(ids), t.c.state == SessionState.FAILED.value)
            .order_by(t.c.session_id)
        )
        with self.engine.connect() as conn:
            return [_to_status(row) for row in conn.execute(query)]

    def list(
        self, *, learner_id: str | None = None, state: SessionState | None = None
    ) -> list[SessionStatus]:
        query = sa.select(sessions_table).order_by(sessions_table.c.learner_id, sessions_table.c.session_id)
        if learner_id is not None:
            query = query.where(sessions_table.c.learner_id == learner_id)
        if state is not None:
            query = query.where(sessions_table.c.state == state.value)
        with self.engine.connect() as conn:
            return [_to_status(row) for row in conn.execute(query)]

    def dispose(self) -> None:
        self.engine.dispose()


def _to_status(row: sa.Row) -> SessionStatus:
    values = dict(row._mapping)
    for name in ("recorded_at", "uploaded_at", "upload_completed_at", "updated_at"):
        values[name] = aware(values[name])
    return SessionStatus.model_validate(values)
