"""Run failure and cancel sensors: a run that dies outside the stages (crash, killed worker) or is
terminated still ends its sessions.

A run may hold one session (``dagster/partition``) or a range of them (a backfill or batched run:
``dagster/asset_partition_range_start``/``_end``). Every session of the run that it left unfinished
is marked FAILED with the run's reason, unless another run has taken it over since.
"""

import dagster as dg

from assets.partitions import RANGE_END, RANGE_START, SESSIONS
from pipeline.stages import lifecycle
from wiring.resources import PipelineResource


def sessions_of_run(run: dg.DagsterRun, instance: dg.DagsterInstance) -> list[str]:
    """The session ids a run was asked to process, from its partition tags."""
    if key := run.tags.get("dagster/partition"):
        return [key]
    start, end = run.tags.get(RANGE_START), run.tags.get(RANGE_END)
    if not (start and end):
        return []
    keys = list(instance.get_dynamic_partitions(SESSIONS))  # in the order they were added
    if start not in keys or end not in keys:
        return [k for k in (start, end) if k in keys]
    return keys[keys.index(start) : keys.index(end) + 1]


def requested_versions(run: dg.DagsterRun) -> dict[str, str]:
    """The content version a one-session run was requested for, from its run key ``<session>:<version>``."""
    key, run_key = run.tags.get("dagster/partition"), run.tags.get("dagster/run_key", "")
    session, _, version = run_key.rpartition(":")
    return {session: version} if key and session == key else {}


def mark_unfinished(
    context: dg.RunStatusSensorContext, pipeline: PipelineResource, error: str, what: str
) -> None:
    """Mark FAILED the sessions the sensor's run left unfinished (``pipeline.stages.lifecycle``)."""
    run = context.dagster_run
    keys = sessions_of_run(run, context.instance)
    if not keys:
        return
    marked = lifecycle.fail_unfinished(
        pipeline.status_store(), keys, run.run_id, error, requested=requested_versions(run)
    )
    if marked:
        context.log.info(f"{len(marked)} session(s) marked FAILED after run {run.run_id[:8]} {what}")


def engine_error(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """The last error the run's process logged outside any step (e.g. its code location failed to load)."""
    for record in reversed(instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)):
        event = record.dagster_event
        error = event.engine_event_data.error if event and event.engine_event_data else None
        if error is not None:
            first = (error.message.strip().splitlines() or [""])[0][:300]
            return f"{(event.message or '').rstrip('.')}: {first}" if event else first
    return None


@dg.run_failure_sensor(name="session_run_failure_sensor", default_status=dg.DefaultSensorStatus.RUNNING)
def session_run_failure_sensor(context: dg.RunFailureSensorContext, pipeline: PipelineResource) -> None:
    """Record the run's failure on every session it left unfinished."""
    run = context.dagster_run
    reason = context.failure_event.message or "run failed"
    if cause := engine_error(
        context.instance, run.run_id
    ):  # the run's own message may only say "marked as failed"
        reason = f"{reason} ({cause})"
    retried = run.tags.get("dagster/will_retry") == "true"
    error = f"run {run.run_id[:8]} failed before this session finished: {reason}" + (
        " (Dagster retries the run)" if retried else "; re-execute the run or backfill the session"
    )
    mark_unfinished(context, pipeline, error, "failed")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.CANCELED,
    name="session_run_canceled_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def session_run_canceled_sensor(context: dg.RunStatusSensorContext, pipeline: PipelineResource) -> None:
    """Record a terminated run on every session it left unfinished (sessions it never reached included)."""
    run = context.dagster_run
    error = (
        f"interrupted: run {run.run_id[:8]} was terminated before this session finished; "
        "re-materialize the session (or backfill it) to finish it"
    )
    mark_unfinished(context, pipeline, error, "was terminated")
