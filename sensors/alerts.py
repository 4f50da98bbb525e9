"""The alerts sensor: failed runs with their FAILED sessions, ERROR checks and freshness FAILs, told
to people through the configured channels (``wiring.alerts``), once each.

Each tick reads the instance's event log after its cursor (a storage id): runs that ended (their
failures, cancellations and the ERROR check evaluations they recorded) and freshness state changes. The run's sessions come from the
status store: the ones it FAILED, and the ones it left unfinished, which the run failure sensors
are about to fail. The cursor also holds the outbox of messages a channel did not take yet, so a
restart or an outage neither repeats nor loses one (``pipeline.alerts.delivery``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster._core.definitions.freshness import (  # not re-exported; the freshness daemon's event
    FreshnessState,
    FreshnessStateChange,
)

from pipeline.alerts.delivery import Stored, deliver
from pipeline.alerts.events import AlertEvent, CheckFailed, FailedSession, FreshnessFailed, RunEnded
from pipeline.alerts.messages import compose
from pipeline.alerts.reasons import check_reason, retry_helps, run_cause, session_reason
from pipeline.domain.errors import FAILED_STAGE
from pipeline.stages.lifecycle import UNFINISHED
from pipeline.status.store import StatusStore
from sensors.failures import sessions_of_run
from wiring.alerts import AlertsResource
from wiring.resources import PipelineResource

LIMIT = 500  # events of each kind read per tick
_ET = dg.DagsterEventType


@dataclass
class AlertCursor:
    after: int | None = None  # the last event-log storage id handled
    outbox: dict[str, list[Stored]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str | None) -> AlertCursor:
        data = json.loads(raw) if raw else {}
        return cls(data.get("after"), data.get("outbox") or {})

    def dump(self) -> str:
        return json.dumps({"after": self.after, "outbox": self.outbox})


def _data(record: dg.EventLogRecord) -> Any:
    """The event's specific data (a failure's reason, a check evaluation, a freshness change)."""
    event = record.event_log_entry.dagster_event
    return event.event_specific_data if event else None


def _read(instance: dg.DagsterInstance, after: int) -> tuple[dict[Any, list[dg.EventLogRecord]], int]:
    """The run endings and freshness changes after ``after``, and the storage id up to which all were read.

    Both live in the event log's index (also on SQLite's run-sharded storage); check evaluations do
    not, so they are read per ended run (``_check_events``).
    """
    runs = dg.RunStatusChangeRecordsFilter
    found = {
        kind: list(
            instance.fetch_run_status_changes(
                runs(kind, after_storage_id=after), LIMIT, ascending=True
            ).records
        )
        for kind in (_ET.RUN_SUCCESS, _ET.RUN_FAILURE, _ET.RUN_CANCELED)
    }
    fresh = dg.EventRecordsFilter(_ET.FRESHNESS_STATE_CHANGE, after_cursor=after)
    found[_ET.FRESHNESS_STATE_CHANGE] = list(instance.get_event_records(fresh, LIMIT, ascending=True))
    full = [records[-1].storage_id for records in found.values() if len(records) >= LIMIT]
    upto = min(full) if full else max((r[-1].storage_id for r in found.values() if r), default=after)
    return {kind: [r for r in records if r.storage_id <= upto] for kind, records in found.items()}, upto


def _failed_sessions(
    instance: dg.DagsterInstance, status: StatusStore, run: dg.DagsterRun, failed: list[Any]
) -> tuple[FailedSession, ...]:
    """The sessions the run FAILED, then those it left unfinished (its failure sensor fails them next)."""
    sessions = [
        FailedSession(
            s.session_id, s.learner_id, session_reason(s.error, s.error_kind), retry_helps(s.error_kind)
        )
        for s in failed
    ]
    seen = {s.session_id for s in sessions}
    left = status.get_many(k for k in sessions_of_run(run, instance) if k not in seen)
    unfinished = sorted(
        (s for s in left.values() if s.state in UNFINISHED and s.run_id in (None, run.run_id)),
        key=lambda s: s.session_id,
    )
    reason = session_reason(
        "interrupted"
        if run.status is dg.DagsterRunStatus.CANCELED
        else f"run {run.run_id[:8]} failed before this session finished",
        "transient",
    )
    return (*sessions, *(FailedSession(s.session_id, s.learner_id, reason, True) for s in unfinished))


def _run_events(
    instance: dg.DagsterInstance, status: StatusStore, records: list[dg.EventLogRecord], canceled: bool
) -> list[RunEnded]:
    run_ids = [r.event_log_entry.run_id for r in records]
    by_run: dict[str, list[Any]] = {}
    for row in status.failed_in_runs(run_ids):
        by_run.setdefault(str(row.run_id), []).append(row)
    events = []
    for record in records:
        run = instance.get_run_by_id(record.event_log_entry.run_id)
        if run is None:
            continue
        reason = getattr(getattr(_data(record), "failure_reason", None), "value", None)
        sessions = _failed_sessions(instance, status, run, by_run.get(run.run_id, []))
        if canceled and not sessions:
            continue  # a canceled run that failed no session is someone's decision, not news
        retried = run.tags.get("dagster/will_retry") == "true"
        events.append(RunEnded(run.run_id, run.job_name, canceled, run_cause(reason), retried, sessions))
    return events


def _check_events(instance: dg.DagsterInstance, ended: list[dg.EventLogRecord]) -> list[CheckFailed]:
    """The ERROR check evaluations that did not pass, of the runs that ended."""
    events = []
    for ending in ended:
        run_id = ending.event_log_entry.run_id
        records = instance.get_records_for_run(run_id, of_type=_ET.ASSET_CHECK_EVALUATION).records
        for record in records:
            evaluation = _data(record)
            if not isinstance(evaluation, dg.AssetCheckEvaluation) or evaluation.passed:
                continue
            if evaluation.severity is not dg.AssetCheckSeverity.ERROR:
                continue
            if FAILED_STAGE in evaluation.metadata:
                continue  # a failed session's checks: its run's alert already tells that session
            events.append(
                CheckFailed(
                    evaluation.asset_key.to_user_string(),
                    evaluation.check_name,
                    evaluation.partition,
                    check_reason(evaluation.description),
                    run_id,
                )
            )
    return events


def _freshness_events(
    instance: dg.DagsterInstance, records: list[dg.EventLogRecord]
) -> list[FreshnessFailed]:
    events = []
    for record in records:
        change = _data(record)
        if not isinstance(change, FreshnessStateChange) or change.new_state is not FreshnessState.FAIL:
            continue
        latest = instance.get_latest_materialization_event(change.key)
        events.append(
            FreshnessFailed(
                change.key.to_user_string(),
                change.previous_state.value,
                datetime.fromtimestamp(change.state_change_timestamp, UTC),
                datetime.fromtimestamp(latest.timestamp, UTC) if latest else None,
            )
        )
    return events


def read_alert_events(
    instance: dg.DagsterInstance, status: StatusStore, after: int
) -> tuple[list[AlertEvent], int]:
    """The events to alert on after storage id ``after``, and the new cursor position."""
    found, upto = _read(instance, after)
    events: list[AlertEvent] = [
        *_run_events(instance, status, found[_ET.RUN_FAILURE], canceled=False),
        *_run_events(instance, status, found[_ET.RUN_CANCELED], canceled=True),
        *_check_events(
            instance,
            [r for kind in (_ET.RUN_SUCCESS, _ET.RUN_FAILURE, _ET.RUN_CANCELED) for r in found[kind]],
        ),
        *_freshness_events(instance, found[_ET.FRESHNESS_STATE_CHANGE]),
    ]
    return events, upto


def build_alerts_sensor(configured: bool, interval_seconds: int = 30) -> dg.SensorDefinition:
    """The sensor, RUNNING by default when a channel is configured, STOPPED otherwise."""

    @dg.sensor(
        name="alerts_sensor",
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING if configured else dg.DefaultSensorStatus.STOPPED,
        description="Tells people (webhook, e-mail) about failed runs and sessions, ERROR checks and freshness FAILs.",
    )
    def alerts_sensor(
        context: dg.SensorEvaluationContext, alerts: AlertsResource, pipeline: PipelineResource
    ) -> dg.SkipReason:
        """One tick: read what happened since the cursor, send it, keep what a channel did not take."""
        senders = alerts.senders()
        if not senders:
            return dg.SkipReason("no alert channel configured: set ALERT_WEBHOOK_URL or ALERT_SMTP_HOST")
        cursor = AlertCursor.parse(context.cursor)
        if cursor.after is None:  # first tick: alert on what happens from now on, not on history
            cursor.after = context.instance.event_log_storage.get_maximum_record_id() or 0
            context.update_cursor(cursor.dump())
            return dg.SkipReason(f"alerting on events after storage id {cursor.after}")
        events, upto = read_alert_events(context.instance, pipeline.status_store(), cursor.after)
        messages = compose(events, alerts.ui_url)
        report = deliver(messages, senders, cursor.outbox)
        context.update_cursor(AlertCursor(upto, report.pending).dump())
        for name, count in report.sent.items():
            if count:
                context.log.info(f"alerts: {count} message(s) sent by {name}")
        failing = "; ".join(f"{n} failing ({e})" for n, e in report.errors.items())
        return dg.SkipReason(
            f"{len(events)} event(s), {len(messages)} message(s)" + (f"; {failing}" if failing else "")
        )

    return alerts_sensor
