"""Erasure in the instance beyond runs: sensor ticks, sensor cursors, captured log files, SQLite files.

Each removes only what names an erased id as a whole token (``pipeline.erasure.tokens``): a tick,
an automation evaluation or a finished backfill's record is history and goes whole; a sensor cursor (e.g. the alerts sensor's
outbox of undelivered messages) loses the entries that name one; a captured log file loses those
lines. On SQLite the changed files are then rebuilt, so deleted rows leave no bytes behind.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa
from dagster._core.execution.backfill import BULK_ACTION_TERMINAL_STATUSES
from dagster._core.scheduler.instigation import SensorInstigatorData
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
from dagster._core.storage.runs.schema import BackfillTagsTable, BulkActionsTable
from dagster._core.storage.schedules.schema import AssetDaemonAssetEvaluationsTable, JobTickTable

from pipeline.erasure.sqlite_files import compact, is_sqlite
from pipeline.erasure.tokens import id_pattern, mentions

log = logging.getLogger(__name__)
ERASED = "erased"


def naming(column: Any, tokens: Iterable[str]) -> Any:
    """A cheap SQL prefilter (LIKE, where '_' is a wildcard): rows that may name an id; Python decides."""
    return sa.or_(*(column.contains(token) for token in sorted(tokens)))


def scrub_ticks(instance: dg.DagsterInstance, tokens: set[str]) -> int:
    """Sensor ticks and automation evaluations that name an erased id (history only) are deleted."""
    deleted, pattern = 0, id_pattern(tokens)
    with instance.schedule_storage.connect() as conn:  # type: ignore[union-attr]  # SqlScheduleStorage
        for table, column in (
            (JobTickTable, JobTickTable.c.tick_body),
            (AssetDaemonAssetEvaluationsTable, AssetDaemonAssetEvaluationsTable.c.asset_evaluation_body),
        ):
            query = sa.select(table.c.id, column).where(naming(column, tokens))
            doomed = [row.id for row in conn.execute(query) if mentions(row[1], pattern)]
            for start in range(0, len(doomed), 500):
                conn.execute(sa.delete(table).where(table.c.id.in_(doomed[start : start + 500])))
            deleted += len(doomed)
    return deleted


def scrub_log_files(instance: dg.DagsterInstance, tokens: set[str]) -> int:
    """Captured stdout/stderr lines that name an erased id (local compute logs), in runs and ticks."""
    manager, pattern = instance.compute_log_manager, id_pattern(tokens)
    if not isinstance(manager, LocalComputeLogManager) or pattern is None:
        return 0
    scrubbed = 0
    for folder, _dirs, files in os.walk(manager._base_dir):  # noqa: SLF001 - the manager's own folder
        for name in files:
            path = Path(folder, name)
            data = path.read_bytes()
            if not mentions(data, pattern):
                continue
            lines = data.decode("utf-8", "replace").splitlines(keepends=True)
            path.write_text("".join(line for line in lines if not mentions(line, pattern)), encoding="utf-8")
            scrubbed += 1
    return scrubbed


def compact_instance(instance: dg.DagsterInstance, untouched: set[Path]) -> bool:
    """Rebuild the instance's SQLite files (runs, index, schedules, and the event shards changed)."""
    ok = True
    for folder, _dirs, files in os.walk(instance.root_directory):
        for name in files:
            path = Path(folder, name)
            if name.endswith(".db") and path not in untouched and is_sqlite(path):
                ok = compact(path) and ok
    return ok


def _pruned(value: Any, pattern: Any) -> Any:
    """``value`` without the list items that name an id; other strings that name one become ``erased``."""
    if isinstance(value, list):
        return [_pruned(v, pattern) for v in value if not mentions(json.dumps(v), pattern)]
    if isinstance(value, dict):
        return {k: _pruned(v, pattern) for k, v in value.items()}
    if isinstance(value, str) and mentions(value, pattern):
        return ERASED
    return value


def scrub_cursors(instance: dg.DagsterInstance, tokens: set[str]) -> int:
    """Sensor cursors that name an id (JSON ones, such as the alerts sensor's outbox) lose those entries."""
    pattern, scrubbed = id_pattern(tokens), 0
    for state in instance.all_instigator_state():
        data = state.instigator_data
        if not isinstance(data, SensorInstigatorData) or not mentions(data.cursor, pattern):
            continue
        try:
            cursor = json.dumps(_pruned(json.loads(data.cursor or ""), pattern))
        except ValueError:
            log.warning("a sensor cursor names an erased id and is not JSON: left as it is")
            continue
        instance.update_instigator_state(state.with_data(data._replace(cursor=cursor)))
        scrubbed += 1
    return scrubbed


def backfills_naming(instance: dg.DagsterInstance, tokens: set[str]) -> tuple[list[str], list[str]]:
    """The backfills whose record names an id: (finished, still going), by backfill id."""
    finished: list[str] = []
    going: list[str] = []
    done = {status.value for status in BULK_ACTION_TERMINAL_STATUSES}
    pattern, t = id_pattern(tokens), BulkActionsTable
    with instance.run_storage.connect() as conn:  # type: ignore[attr-defined]  # SqlRunStorage
        for row in conn.execute(
            sa.select(t.c.key, t.c.status, t.c.body).where(naming(t.c.body, tokens))
        ).all():
            if mentions(row.body, pattern):
                (finished if row.status in done else going).append(row.key)
    return finished, going


def delete_backfills(instance: dg.DagsterInstance, keys: list[str]) -> None:
    """Finished backfills' records (their runs are handled as runs)."""
    with instance.run_storage.connect() as conn:  # type: ignore[attr-defined]  # SqlRunStorage
        conn.execute(sa.delete(BackfillTagsTable).where(BackfillTagsTable.c.backfill_id.in_(keys)))
        conn.execute(sa.delete(BulkActionsTable).where(BulkActionsTable.c.key.in_(keys)))
