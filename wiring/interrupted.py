"""Runs in flight when ``make run`` stops: ended as a terminate ends them, not left ``STARTED``.

Before the supervisor interrupts the processes (``wiring.supervise``), each run in flight is marked
``CANCELING``, so that its worker, on the SIGINT, ends it ``CANCELED`` (not ``FAILURE``, which the
run-retry daemon would retry at the next start) and fails its sessions in flight as interrupted.
Once every process is gone, a run still in flight (its worker killed before it finished, or
launched after the first look) is reported ``CANCELED`` here, and the sessions it left unfinished
are failed as interrupted, as ``session_run_canceled_sensor`` does for a terminated run: the
daemon that would run that sensor is gone by then.
"""

from __future__ import annotations

import dagster as dg

from pipeline.stages import lifecycle
from pipeline.status.store import StatusStore
from sensors.failures import sessions_of_run

IN_FLIGHT = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
REASON = "make run was stopped while this run was going"


def in_flight(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Runs started and not ended (queued runs stay queued: the next start launches them)."""
    return list(instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT)))


def mark_canceling(instance: dg.DagsterInstance) -> list[str]:
    """Mark every run in flight ``CANCELING`` (as a terminate does first); returns their ids."""
    runs = [run for run in in_flight(instance) if run.status is not dg.DagsterRunStatus.CANCELING]
    for run in runs:
        instance.report_run_canceling(run, message=f"{REASON}: stopping it")
    return [run.run_id for run in runs]


def end_interrupted(instance: dg.DagsterInstance, status: StatusStore, run_ids: list[str]) -> list[str]:
    """With every process gone: report the runs still in flight ``CANCELED``, and fail as interrupted
    the sessions these and ``run_ids`` (the runs stopped at the start) left unfinished.

    Returns the ids of the sessions marked.
    """
    runs = {run.run_id: run for run in in_flight(instance)}
    for run in runs.values():
        instance.report_run_canceled(run, message=f"{REASON}: its worker was stopped before it ended")
    for run_id in run_ids:
        stopped = None if run_id in runs else instance.get_run_by_id(run_id)
        if stopped is not None:
            runs[run_id] = stopped
    marked: list[str] = []
    for run in runs.values():
        error = (
            f"interrupted: run {run.run_id[:8]} was stopped with make run before this session finished; "
            "re-materialize the session (or backfill it) to finish it"
        )
        marked += lifecycle.fail_unfinished(status, sessions_of_run(run, instance), run.run_id, error)
    return marked
