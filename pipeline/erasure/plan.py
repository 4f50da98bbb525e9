"""What one erasure removes: the sessions of a learner (or one session) and every key and row they left.

The plan is read from the stores before anything is deleted, so a dry run shows exactly what a real
run would delete, and a run cut short is finished by running it again (the rows that index the
sessions are deleted last).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from pipeline.domain.documents import insights_key, profile_key, transcript_key
from pipeline.domain.errors import PermanentError
from pipeline.domain.ids import is_valid_id, validate_id
from pipeline.domain.models import PatternProfile, SessionState, SessionStatus
from pipeline.erasure.memo_scan import memo_keys
from pipeline.erasure.tokens import id_pattern, mentions
from pipeline.intake.registry import feed_state_table, registry_table
from pipeline.status.schema import rejections_table
from pipeline.status.store import StatusStore
from pipeline.storage import Storage

#: States in which a run may still write the session's documents: erasing then would race it.
BUSY = {SessionState.TRANSCRIBING, SessionState.ANALYZING}


class ErasureBusy(PermanentError):
    """A run may still be writing one of the sessions: erasing now could be undone by that run."""


@dataclass(frozen=True)
class ErasureTarget:
    """Exactly one of a learner (all their sessions) or a session."""

    learner_id: str | None = None
    session_id: str | None = None

    def __post_init__(self) -> None:
        if (self.learner_id is None) == (self.session_id is None):
            raise ValueError("erase either a learner or a session")
        if self.learner_id is not None:
            validate_id(self.learner_id, "learner id")
        if self.session_id is not None:
            validate_id(self.session_id)


@dataclass
class ErasurePlan:
    target: ErasureTarget
    session_ids: set[str] = field(default_factory=set)
    learner_ids: set[str] = field(default_factory=set)  # the learners those sessions belong to
    upload_folders: list[str] = field(default_factory=list)  # "<learner>" or "<learner>/<session>"
    upload_objects: int = 0
    result_keys: list[str] = field(default_factory=list)
    memo_keys: list[str] = field(default_factory=list)
    registry_folders: list[str] = field(default_factory=list)
    rejection_folders: list[str] = field(default_factory=list)
    feed_ticks: list[int] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)  # sessions a run may still be writing

    @property
    def tokens(self) -> set[str]:
        """The ids no stored byte may carry afterwards: the sessions', and the learner's when erased whole."""
        return self.session_ids | ({self.target.learner_id} if self.target.learner_id else set())

    @property
    def surviving_learners(self) -> set[str]:
        """Learners who keep other sessions: their profiles and views are recomputed without these."""
        return set() if self.target.learner_id else self.learner_ids

    def counts(self) -> dict[str, int]:
        """What the plan touches, as numbers only (what the logs and the job's metadata show)."""
        return {
            "sessions": len(self.session_ids),
            "upload_objects": self.upload_objects,
            "result_documents": len(self.result_keys),
            "memo_entries": len(self.memo_keys),
            "registry_rows": len(self.registry_folders),
            "rejections": len(self.rejection_folders),
            "feed_states": len(self.feed_ticks),
            "busy_sessions": len(self.busy),
        }


def _sessions(
    target: ErasureTarget, uploads: Storage, results: Storage, status: StatusStore
) -> tuple[set[str], set[str], list[SessionStatus]]:
    """The target's session ids, their learners, and their status rows."""
    t = registry_table
    if target.learner_id is not None:
        learner = target.learner_id
        rows = status.list(learner_id=learner)
        sessions = {r.session_id for r in rows}
        with status.engine.connect() as conn:
            sessions |= set(
                conn.execute(sa.select(t.c.session_id).where(t.c.learner_id == learner)).scalars()
            )
        # Folders the sensor never registered (a rejected or still-waiting upload) count too.
        sessions |= {key.split("/")[1] for key in uploads.tree(learner) if key.count("/") >= 2}
        for session_id in list(sessions):  # a snapshot lists every earlier session of its learner
            try:
                sessions |= set(results.read_model(profile_key(session_id), PatternProfile).session_ids)
            except (FileNotFoundError, PermanentError):
                continue
        sessions = {s for s in sessions if is_valid_id(s)}  # other names go with the folder
        extra = status.get_many(sessions - {r.session_id for r in rows})
        # A folder of this learner may carry a session id another learner owns (rejected as a
        # collision): that session, its results and rows are the other learner's and stay.
        theirs = {s for s, r in extra.items() if is_valid_id(r.learner_id) and r.learner_id != learner}
        return sessions - theirs, {learner}, rows + [r for s, r in extra.items() if s not in theirs]
    session = target.session_id
    assert session is not None
    row = status.get(session)
    # The owner's folder only: another learner's folder with the same id (a rejected collision) stays.
    learners = {row.learner_id} if row and is_valid_id(row.learner_id) else set()
    if not learners:
        with status.engine.connect() as conn:
            query = sa.select(t.c.learner_id).where(t.c.session_id == session)
            learners = set(conn.execute(query).scalars())
    if not learners:
        for key in (transcript_key(session), insights_key(session)):
            try:
                learners.add(str(results.read_json(key)["learner_id"]))
            except (FileNotFoundError, KeyError, ValueError):
                continue
    return {session}, learners, [row] if row else []


def plan_erasure(
    target: ErasureTarget, *, uploads: Storage, results: Storage, status: StatusStore
) -> ErasurePlan:
    """Everything ``target`` left in the uploads, the results and the status database; deletes nothing."""
    sessions, learners, rows = _sessions(target, uploads, results, status)
    plan = ErasurePlan(target, session_ids=sessions, learner_ids=learners)
    plan.busy = sorted(r.session_id for r in rows if r.state in BUSY)
    if target.learner_id is not None:
        plan.upload_folders = [target.learner_id]
    else:
        plan.upload_folders = [f"{learner}/{target.session_id}" for learner in sorted(learners)]
    plan.upload_objects = sum(1 for folder in plan.upload_folders for _ in uploads.tree(folder))
    plan.result_keys = [
        key
        for session in sorted(sessions)
        for key in (transcript_key(session), insights_key(session), profile_key(session))
        if results.exists(key)
    ]
    plan.memo_keys = memo_keys(results, sorted(sessions))
    pattern = id_pattern(plan.tokens)
    r, t, f = rejections_table, registry_table, feed_state_table
    with status.engine.connect() as conn:
        plan.registry_folders = sorted(
            conn.execute(
                sa.select(t.c.folder).where(
                    t.c.session_id.in_(sorted(sessions)) | (t.c.learner_id == (target.learner_id or "")),
                )
            ).scalars()
        )
        # A rejected folder is named as uploaded, so it is matched by its path's ids (and a reason
        # that names an erased id, such as another learner's collision with one of these sessions).
        plan.rejection_folders = sorted(
            row.folder
            for row in conn.execute(sa.select(r.c.folder, r.c.reason))
            if mentions(row.folder, pattern) or mentions(row.reason, pattern)
        )
        plan.feed_ticks = sorted(
            row.tick for row in conn.execute(sa.select(f.c.tick, f.c.state)) if mentions(row.state, pattern)
        )
    return plan
