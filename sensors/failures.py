"""The run-failure sensor: a run that dies outside the assets (crash, killed worker) still marks its sessions FAILED."""


import dagster as dg

from pipeline.models import SessionState
from pipeline.resources import PipelineResource

UNFINISHED = {SessionState.UPLOADED, SessionState.TRANSCRIBING, SessionState.ANALYZING}


@dg.run_failure_sensor(name="session_run_failure_sensor", default_status=dg.DefaultSensorStatus.RUNNING)
def session_run_failure_sensor(context: dg.RunFailureSensorContext, pipeline: PipelineResource) -> None:
    """Record the run's failure on every session it left unfinished."""
    run = context.dagster_run
    key = run.tags.get("dagster/partition")
    if key is None:
        return  # a batch (backfill) run: its assets recorded each session's own failure
    status = pipeline.status_store()
    current = status.get(key)
    if current is not None and current.state in UNFINISHED:
        message = context.failure_event.message or "run failed"
        status.set_state(key, SessionState.FAILED, error=f"run {run.run_id[:8]} failed: {message}")
        context.log.info(f"session {key} marked FAILED after run {run.run_id[:8]} failed")
