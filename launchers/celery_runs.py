"""Runs on Celery workers: the run launcher the daemon uses and the worker app (``celery -A launchers.celery_runs``).

Why not dagster-celery's stock pair as is: its health check trusts the Celery task state, which stays
``STARTED`` forever when a worker machine dies (nobody is left to write ``FAILURE``), so run
monitoring never notices; it calls a queued resumed task ``UNKNOWN``, which run monitoring treats as
dead and resumes again; and its resume task is sent with a keyword argument the task does not take.
Here a running task keeps a heartbeat key alive in the result backend (Redis, whose clock alone
decides expiry, so worker clocks don't matter); no heartbeat and no final state means the worker is
lost, and run monitoring resumes the run on another worker (finished steps are skipped, and the
pipeline's memo keeps paid provider results). Each attempt is fenced (``launchers.celery_guard``), every
task state the health check can read has a time bound, and terminate cancels the run rather than
letting its step retry.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any, cast

from celery import Celery
from dagster import DagsterRun, DagsterRunStatus, Field, IntSource
from dagster._core.events import EngineEventData
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, ResumeRunContext, WorkerStatus
from dagster._core.origin import JobPythonOrigin
from dagster._grpc.types import ExecuteRunArgs, ResumeRunArgs
from dagster._serdes import pack_value
from dagster_celery.launcher import CeleryRunLauncher as StockCeleryRunLauncher

from launchers.celery_guard import ATTEMPT_TAG, CODE_VERSION_TAG, SENT_AT_TAG, code_version, heartbeat_key
from launchers.celery_worker import EXECUTE_TASK, RESUME_TASK, WORKER_PID_TAG, WORKER_TAG, app

logger = logging.getLogger(__name__)

__all__ = ["WORKER_PID_TAG", "WORKER_TAG", "CeleryRunLauncher", "app", "heartbeat_key"]


def _origin(run: DagsterRun) -> JobPythonOrigin:
    """A launched run always has its job's code origin; a worker cannot load the code without it."""
    if run.job_code_origin is None:
        raise ValueError(f"run {run.run_id} has no code origin: it cannot run on a worker")
    return run.job_code_origin


class CeleryRunLauncher(StockCeleryRunLauncher):
    """dagster-celery's run launcher with a heartbeat health check, time bounds, fencing and terminate."""

    def __init__(
        self,
        *args: Any,
        heartbeat_timeout_seconds: int = 30,
        pending_timeout_seconds: int = 600,
        finish_grace_seconds: int = 60,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.heartbeat_timeout_seconds = heartbeat_timeout_seconds
        self.pending_timeout_seconds = pending_timeout_seconds
        self.finish_grace_seconds = finish_grace_seconds
        # A plain app rather than dagster-celery's (AMQP priority queues): the same queue
        # declarations as the worker app's below, so a task sent to a queue is a task a worker sees.
        self.celery = Celery("speaking_pipeline", broker=self.broker, backend=self.backend)
        self.celery.conf.update(self.config_source, task_default_queue=self.default_queue)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {
            **cast(dict[str, Any], super().config_type()),  # the stock launcher's fields, a dict at run time
            "heartbeat_timeout_seconds": Field(
                IntSource,
                is_required=False,
                default_value=30,
                description="A started run whose worker has not beaten for this long is lost (resumed elsewhere).",
            ),
            "pending_timeout_seconds": Field(
                IntSource,
                is_required=False,
                default_value=600,
                description="A sent task no worker has taken after this long (a lost message) fails its run.",
            ),
            "finish_grace_seconds": Field(
                IntSource,
                is_required=False,
                default_value=60,
                description="A task that ended this long ago while its run is still unfinished fails the run.",
            ),
        }

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        args = ExecuteRunArgs(
            job_origin=_origin(run),
            run_id=run.run_id,
            instance_ref=self._instance.get_ref(),
            set_exit_code_on_failure=True,
        )
        self._send(run, EXECUTE_TASK, pack_value(args))

    def resume_run(self, context: ResumeRunContext) -> None:
        run = context.dagster_run
        args = ResumeRunArgs(
            job_origin=_origin(run),
            run_id=run.run_id,
            instance_ref=self._instance.get_ref(),
            set_exit_code_on_failure=True,
        )
        self._send(run, RESUME_TASK, pack_value(args))

    def _send(self, run: Any, task_name: str, packed: Any) -> None:
        """Record the new attempt on the run, then send it: a worker never sees a task the run does not name."""
        queue = run.tags.get("dagster-celery/queue", self.default_queue)
        attempt = str(uuid.uuid4())
        version = run.tags.get(CODE_VERSION_TAG) or code_version()
        self._instance.add_run_tags(
            run.run_id, {ATTEMPT_TAG: attempt, SENT_AT_TAG: f"{time.time():.0f}", CODE_VERSION_TAG: version}
        )
        self.celery.send_task(
            task_name,
            task_id=attempt,
            kwargs={"packed": packed, "heartbeat_ttl": self.heartbeat_timeout_seconds},
            queue=queue,
        )
        self._instance.report_engine_event(
            f"Sent to Celery queue {queue} ({task_name}, code version {version})",
            run,
            EngineEventData({"Celery Task ID": attempt, "Celery Queue": queue}),
            cls=self.__class__,
        )

    def terminate(self, run_id: str) -> bool:
        """Cancel the run as on the embedded launcher: CANCELING first (so its step is not retried),
        then SIGINT to the process running it, which Dagster turns into a clean interruption."""
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished or ATTEMPT_TAG not in run.tags:
            return False
        if run.status is not DagsterRunStatus.CANCELING:
            self._instance.report_run_canceling(run)
        self.celery.control.revoke(run.tags[ATTEMPT_TAG], terminate=True, signal="SIGINT")
        return True

    def check_run_worker_health(self, run: Any) -> CheckRunHealthResult:
        task_id = run.tags.get(ATTEMPT_TAG)
        if task_id is None:
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "no Celery task id on the run")
        if self.celery.backend.client.exists(heartbeat_key(run.run_id)):
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        result = self.celery.AsyncResult(task_id)
        state = result.state
        if state == "SUCCESS":
            return self._finished_task(run, result.date_done)
        if state in ("FAILURE", "REVOKED"):
            return CheckRunHealthResult(WorkerStatus.FAILED, f"Celery task {state}")
        if state == "STARTED":
            return CheckRunHealthResult(
                WorkerStatus.FAILED,
                f"worker lost: no heartbeat for {self.heartbeat_timeout_seconds}s from {run.tags.get(WORKER_TAG)}",
            )
        # PENDING (queued, or a lost message: Celery cannot tell) or RETRY (refused by a worker of
        # another code version): waiting for a free worker, but not forever.
        waited = time.time() - float(run.tags.get(SENT_AT_TAG, "0") or 0)
        if waited > self.pending_timeout_seconds:
            return CheckRunHealthResult(
                WorkerStatus.FAILED,
                f"Celery task {task_id} still {state} {waited:.0f}s after it was sent "
                f"(pending_timeout_seconds {self.pending_timeout_seconds}): no worker took it",
            )
        return CheckRunHealthResult(WorkerStatus.RUNNING, f"Celery task {state}")

    def _finished_task(self, run: Any, done_at: datetime | None) -> CheckRunHealthResult:
        """The task ended: healthy if the run did too, or for a grace period while its last events land."""
        current = self._instance.get_run_by_id(run.run_id)
        if current is None or current.is_finished:
            return CheckRunHealthResult(WorkerStatus.SUCCESS)
        if done_at is None:
            return CheckRunHealthResult(WorkerStatus.SUCCESS)
        ended = done_at if done_at.tzinfo else done_at.replace(tzinfo=UTC)
        since = (datetime.now(UTC) - ended).total_seconds()
        if since > self.finish_grace_seconds:
            return CheckRunHealthResult(
                WorkerStatus.FAILED,
                f"Celery task finished {since:.0f}s ago but the run is still {current.status.value} "
                f"(finish_grace_seconds {self.finish_grace_seconds})",
            )
        return CheckRunHealthResult(
            WorkerStatus.RUNNING, "Celery task finished; the run's end is being recorded"
        )
