"""Carrying out an erasure plan: memo, uploads, results, status rows, then the derived profiles and views.

The order makes a run cut short safe to repeat: the memo entries are found from the stored
transcripts, so they go first, and the status rows that index the sessions go last. The logs name
no id and no text, only counts and a reference (a digest of the erased id).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from pipeline.domain.documents import insights_key, profile_key
from pipeline.domain.errors import PermanentError
from pipeline.domain.models import SessionInsights
from pipeline.domain.snapshots import ProfileEntry, entry_of, iter_snapshots, snapshot_digest
from pipeline.erasure.plan import ErasureBusy, ErasurePlan, ErasureTarget, plan_erasure
from pipeline.erasure.sqlite_files import compact, sqlite_path
from pipeline.erasure.tokens import reference
from pipeline.intake.registry import feed_state_table, registry_table
from pipeline.status.schema import rejections_table, sessions_table
from pipeline.status.store import StatusStore
from pipeline.storage import Storage

log = logging.getLogger(__name__)


@dataclass
class ErasureReport:
    reference: str  # a digest of the erased id, for the logs and the audit trail
    dry_run: bool
    counts: dict[str, int]
    refreshed_snapshots: int = 0
    refreshed_views: list[str] = field(default_factory=list)
    compacted: bool = True  # the status database's deleted bytes are gone (SQLite), or not SQLite


def refresh_profiles(results: Storage, status: StatusStore, learner_id: str) -> int:
    """Rewrite a learner's stored snapshots from their remaining sessions; returns how many changed."""
    written: dict[str, str] = {}
    with status.locks.hold(learner_id):
        rows = status.profiles.rows(learner_id)
        entries: list[ProfileEntry] = []
        for row in rows:
            if row.pattern_counts is not None and row.recorded_at is not None:
                entries.append(ProfileEntry(row.session_id, row.recorded_at, row.pattern_counts))
                continue
            try:
                entries.append(entry_of(results.read_model(insights_key(row.session_id), SessionInsights)))
            except (FileNotFoundError, PermanentError):
                continue
        digests = {row.session_id: row.profile_digest for row in rows}
        for snapshot in iter_snapshots(learner_id, entries):
            digest = snapshot_digest(snapshot)
            key = profile_key(snapshot.session_id)
            if digest != digests.get(snapshot.session_id) and results.exists(key):
                results.write_model(key, snapshot)
                written[snapshot.session_id] = digest
        status.profiles.save_digests(written)
    return len(written)


def _delete_rows(status: StatusStore, plan: ErasurePlan) -> None:
    sessions = sorted(plan.session_ids)
    with status.engine.begin() as conn:
        for table, column, values in (
            (registry_table, registry_table.c.folder, plan.registry_folders),
            (rejections_table, rejections_table.c.folder, plan.rejection_folders),
            (feed_state_table, feed_state_table.c.tick, plan.feed_ticks),
            (sessions_table, sessions_table.c.session_id, sessions),
        ):
            for start in range(0, len(values), 500):
                conn.execute(sa.delete(table).where(column.in_(values[start : start + 500])))


def _forget_lock_file(status: StatusStore, learner_id: str) -> None:
    """The SQLite learner lock's file is named by a digest of the id (``pipeline.status.learner_lock``)."""
    path = sqlite_path(status.url)
    folder = path.parent if path is not None else Path(tempfile.gettempdir())
    digest = hashlib.sha256(learner_id.encode()).hexdigest()[:16]
    (folder / f".learner-{digest}.lock").unlink(missing_ok=True)


def apply_plan(
    plan: ErasurePlan, *, uploads: Storage, results: Storage, status: StatusStore, force: bool = False
) -> ErasureReport:
    """Delete what ``plan`` found; raises ErasureBusy, deleting nothing, while a run may write a session."""
    target = plan.target
    ref = reference(target.learner_id or target.session_id or "")
    if plan.busy and not force:
        raise ErasureBusy(
            f"erasure {ref}: {len(plan.busy)} session(s) are being transcribed or analysed now; wait for "
            "their run to end (or terminate it), then erase again (force only if that run is gone)"
        )
    for key in plan.memo_keys:
        results.delete(key)
    for folder in plan.upload_folders:
        uploads.delete_tree(folder)
    for key in plan.result_keys:
        results.delete(key)
    _delete_rows(status, plan)
    report = ErasureReport(ref, dry_run=False, counts=plan.counts())
    for learner in sorted(plan.surviving_learners):
        report.refreshed_snapshots += refresh_profiles(results, status, learner)
    if target.learner_id is not None:
        _forget_lock_file(status, target.learner_id)
    from pipeline.views.refresh import refresh_written_views  # pandas: only where views are rewritten

    report.refreshed_views = refresh_written_views(results, status)
    path = sqlite_path(status.url)
    if path is not None:
        status.engine.dispose()  # no pooled connection may hold the WAL open
        report.compacted = compact(path)
    return report


def erase(
    target: ErasureTarget,
    *,
    uploads: Storage,
    results: Storage,
    status: StatusStore,
    dry_run: bool = True,
    force: bool = False,
) -> tuple[ErasurePlan, ErasureReport]:
    """Plan the erasure of ``target`` and, unless ``dry_run``, carry it out. Idempotent."""
    plan = plan_erasure(target, uploads=uploads, results=results, status=status)
    if dry_run:
        report = ErasureReport(reference(target.learner_id or target.session_id or ""), True, plan.counts())
    else:
        report = apply_plan(plan, uploads=uploads, results=results, status=status, force=force)
    what = "learner" if target.learner_id else "session"
    log.info(
        "erasure %s (%s)%s: %s; %d later snapshot(s) refreshed, views rewritten: %s",
        report.reference,
        what,
        " [dry run: nothing deleted]" if dry_run else "",
        ", ".join(f"{name} {count}" for name, count in report.counts.items()),
        report.refreshed_snapshots,
        ", ".join(report.refreshed_views) or "none",
    )
    return plan, report
