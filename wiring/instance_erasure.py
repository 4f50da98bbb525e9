"""Erasure in the Dagster instance: the sessions' partitions, their runs, events, ticks and captured logs.

Dagster offers no partition wipe on its SQL event logs (``wipe_asset_partitions`` raises there), so
this module deletes through the instance's own storages and their tables. A run that concerned only
the erased sessions is deleted whole (``DagsterInstance.delete_run``) with its captured logs; a run
shared with other learners (a batch) keeps everything of theirs and loses only the events of the
erased partitions, the log lines that name an erased id, and tags that name one (set to
``erased``). Ids are matched as whole tokens (``pipeline.erasure.tokens``). Ticks, sensor
cursors, captured log files and the rebuilding of SQLite files are in ``wiring.instance_scrub``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    AssetEventTagsTable,
    AssetKeyTable,
    SqlEventLogStorageTable,
)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.runs.schema import RunsTable
from dagster._core.storage.tags import PARTITION_NAME_TAG
from dagster._record import copy
from dagster._serdes import serialize_value

from assets.partitions import RANGE_END, RANGE_START, SESSIONS
from assets.views import view_assets
from pipeline.erasure.tokens import id_pattern, mentions
from wiring.instance_scrub import (
    ERASED,
    backfills_naming,
    compact_instance,
    delete_backfills,
    naming,
    scrub_cursors,
    scrub_log_files,
    scrub_ticks,
)

log = logging.getLogger(__name__)
LEARNER_TAG = "learner_id"
VIEW_KEYS = {key for view in view_assets for key in view.keys}


@dataclass
class InstancePlan:
    session_ids: set[str]
    learner_ids: set[str]  # erased whole (empty when one session is erased)
    partitions: list[str] = field(default_factory=list)
    whole_runs: list[str] = field(default_factory=list)  # concerned only the erased sessions
    shared_runs: list[str] = field(default_factory=list)  # tags or config name an erased id
    active_runs: list[str] = field(default_factory=list)  # queued or going: they would write again
    backfills: list[str] = field(default_factory=list)  # finished backfills whose record names an id

    @property
    def tokens(self) -> set[str]:
        return self.session_ids | self.learner_ids

    @property
    def pattern(self) -> re.Pattern[str] | None:
        return id_pattern(self.tokens)

    def counts(self) -> dict[str, int]:
        return {
            "partitions": len(self.partitions),
            "runs_deleted": len(self.whole_runs),
            "runs_scrubbed": len(self.shared_runs),
            "active_runs": len(self.active_runs),
            "backfills_deleted": len(self.backfills),
        }


def _range_keys(tags: Mapping[str, str], keys: list[str]) -> list[str] | None:
    """The session keys of a batched run (its range over the partitions, in the order they were added)."""
    start, end = tags.get(RANGE_START), tags.get(RANGE_END)
    if start is None or end is None or start not in keys or end not in keys:
        return None
    return keys[keys.index(start) : keys.index(end) + 1]


def plan_instance(
    instance: dg.DagsterInstance,
    session_ids: Iterable[str],
    learner_ids: Iterable[str] = (),
    *,
    skip_run: str | None = None,
) -> InstancePlan:
    """What the instance holds of these sessions; a learner's runs add the sessions they name."""
    plan = InstancePlan(set(session_ids), set(learner_ids))
    records = [r for r in instance.get_run_records() if r.dagster_run.run_id != skip_run]
    for record in records:  # sessions only the instance still knows (an erasure cut short)
        tags = record.dagster_run.tags
        if tags.get(LEARNER_TAG) in plan.learner_ids and tags.get(PARTITION_NAME_TAG):
            plan.session_ids.add(tags[PARTITION_NAME_TAG])
    keys = list(instance.get_dynamic_partitions(SESSIONS))
    plan.partitions = [key for key in keys if key in plan.session_ids]
    pattern = plan.pattern
    for record in records:
        run = record.dagster_run
        tags = run.tags
        in_range = set(_range_keys(tags, keys) or ())
        alone = tags.get(PARTITION_NAME_TAG) in plan.session_ids or tags.get(LEARNER_TAG) in plan.learner_ids
        if alone or (in_range and in_range <= plan.session_ids):
            plan.whole_runs.append(run.run_id)
        elif any(mentions(v, pattern) for v in tags.values()) or mentions(repr(run.run_config), pattern):
            plan.shared_runs.append(run.run_id)
        # A run still going would write the sessions (or views with their rows) again after the erasure.
        views = bool(run.asset_selection and run.asset_selection & VIEW_KEYS)
        if not run.is_finished and (alone or in_range & plan.session_ids or views):
            plan.active_runs.append(run.run_id)
    plan.backfills, going = backfills_naming(instance, plan.tokens)
    plan.active_runs += [f"backfill {key}" for key in going]
    return plan


def _scrub_events(conn: Any, plan: InstancePlan, run_id: str | None) -> list[int]:
    """Delete the erased partitions' events and the events that name an erased id; returns their ids."""
    t = SqlEventLogStorageTable
    pattern = plan.pattern
    tokens = sorted(plan.session_ids | plan.learner_ids)
    if not tokens:
        return []
    where = sa.or_(t.c.partition.in_(sorted(plan.session_ids)), naming(t.c.event, plan.tokens))
    if run_id is not None:
        where = sa.and_(t.c.run_id == run_id, where)
    doomed = [
        row.id
        for row in conn.execute(sa.select(t.c.id, t.c.event, t.c.partition).where(where))
        # Another partition's asset event is never deleted for naming an id; a log line is.
        if row.partition in plan.session_ids or (row.partition is None and mentions(row.event, pattern))
    ]
    for start in range(0, len(doomed), 500):
        conn.execute(sa.delete(t).where(t.c.id.in_(doomed[start : start + 500])))
    return doomed


def _scrub_index(conn: Any, plan: InstancePlan, doomed: list[int]) -> None:
    """Tags of deleted asset events, check executions and the cached partition status that name an id."""
    pattern = plan.pattern
    tags, checks, keys = AssetEventTagsTable, AssetCheckExecutionsTable, AssetKeyTable
    for start in range(0, len(doomed), 500):
        conn.execute(sa.delete(tags).where(tags.c.event_id.in_(doomed[start : start + 500])))
    named = sa.or_(
        checks.c.partition.in_(sorted(plan.session_ids)), naming(checks.c.evaluation_event, plan.tokens)
    )
    for row in conn.execute(
        sa.select(checks.c.id, checks.c.partition, checks.c.evaluation_event).where(named)
    ).all():
        if row.partition in plan.session_ids or mentions(row.evaluation_event, pattern):
            conn.execute(sa.delete(checks).where(checks.c.id == row.id))
    for row in conn.execute(
        sa.select(keys.c.id, keys.c.last_materialization, keys.c.cached_status_data)
    ).all():
        values: dict[str, None] = {}
        if mentions(row.last_materialization, pattern):
            values["last_materialization"] = None
        if mentions(row.cached_status_data, pattern):
            values["cached_status_data"] = None  # Dagster recomputes it from the events
        if values:
            conn.execute(sa.update(keys).where(keys.c.id == row.id).values(**values))


def _redacted(value: Any, pattern: re.Pattern[str] | None) -> Any:
    if isinstance(value, str):
        return ERASED if mentions(value, pattern) else value
    if isinstance(value, dict):
        return {k: _redacted(v, pattern) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, pattern) for v in value]
    return value


def redact_run(instance: dg.DagsterInstance, run_id: str, pattern: re.Pattern[str] | None) -> None:
    """Tags and run config values that name an erased id become ``erased``, and a partition range that
    names one is dropped from the run's body (the run itself and everything else of it stay)."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return
    tags = {k: ERASED for k, v in run.tags.items() if mentions(v, pattern)}
    if tags:
        instance.add_run_tags(run_id, tags)
        run = instance.get_run_by_id(run_id) or run
    changes: dict[str, Any] = {}
    config = _redacted(run.run_config, pattern)
    if config != run.run_config:
        changes["run_config"] = config
    if run.partitions_subset is not None and mentions(serialize_value(run.partitions_subset), pattern):
        changes["partitions_subset"] = None
    if changes:
        body = serialize_value(copy(run, **changes))
        with instance.run_storage.connect() as conn:  # type: ignore[attr-defined]  # SqlRunStorage
            conn.execute(sa.update(RunsTable).where(RunsTable.c.run_id == run_id).values(run_body=body))


def erase_in_instance(
    instance: dg.DagsterInstance, plan: InstancePlan, *, skip_run: str | None = None
) -> dict[str, int]:
    """Carry out ``plan``; returns counts (no ids). ``skip_run`` (the erasure's own run) is left alone."""
    pattern = plan.pattern
    manager = instance.compute_log_manager
    events = instance.event_log_storage
    for run_id in plan.whole_runs:
        manager.delete_logs(prefix=[run_id])
        instance.delete_run(run_id)
        if isinstance(events, SqliteEventLogStorage):
            for suffix in ("", "-wal", "-shm"):
                Path(events.path_for_shard(run_id) + suffix).unlink(missing_ok=True)
    for key in plan.partitions:
        instance.delete_dynamic_partition(SESSIONS, key)
    for run_id in plan.shared_runs:
        redact_run(instance, run_id, pattern)
    delete_backfills(instance, plan.backfills)
    doomed_in_runs = 0
    untouched: set[Path] = set()  # run shards with nothing erased: not rebuilt
    if isinstance(events, SqliteEventLogStorage):  # each run's events live in a file of their own
        for run_id in events.get_all_run_ids():
            if run_id == skip_run:  # the erasure's own run: its file is being written, and names no id
                untouched.add(Path(events.path_for_shard(run_id)))
                continue
            with events.run_connection(run_id) as conn:
                found = len(_scrub_events(conn, plan, run_id))
            doomed_in_runs += found
            if not found:
                untouched.add(Path(events.path_for_shard(run_id)))
    with events.index_connection() as conn:  # type: ignore[attr-defined]  # SqlEventLogStorage
        doomed = _scrub_events(conn, plan, None)
        _scrub_index(conn, plan, doomed)
    counts = {
        **plan.counts(),
        "events_deleted": doomed_in_runs + len(doomed),
        "ticks_deleted": scrub_ticks(instance, plan.tokens),
        "cursors_scrubbed": scrub_cursors(instance, plan.tokens),
        "log_files_scrubbed": scrub_log_files(instance, plan.tokens),
    }
    counts["instance_compacted"] = int(compact_instance(instance, untouched))
    return counts
