"""Runs on Celery workers: the run launcher the daemon uses and the worker app (``celery -A launchers.celery_runs``).

Why not dagster-celery's stock pair as is: its health check trusts the Celery task state, which stays
``STARTED`` forever when a worker machine dies (nobody is left to write ``FAILURE``), so run
monitoring never notices; it calls a queued resumed task ``UNKNOWN``, which run monitoring treats as
dead and resumes again; and its resume task is sent with a keyword argument the task does not take.
Here a running task keeps a heartbeat key alive in the result backend (Redis, whose clock alone
decides expiry, so worker clocks don't matter); no heartbeat and no final state means the worker is
lost, and run monitoring resumes the run on another worker (finished steps are skipped, and the
pipeline's memo keeps paid provider results).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from celery import Celery
from celery.signals import worker_init
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, Field, IntSource
from dagster._cli.api import _execute_run_command_body, _resume_run_command_body
from dagster._core.events import EngineEventData
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, ResumeRunContext, WorkerStatus
from dagster._core.origin import JobPythonOrigin
from dagster._grpc.types import ExecuteRunArgs, ResumeRunArgs
from dagster._serdes import pack_value, unpack_value
from dagster_celery.launcher import CeleryRunLauncher as StockCeleryRunLauncher
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

logger = logging.getLogger(__name__)

EXECUTE_TASK = "speaking_pipeline.execute_run"
RESUME_TASK = "speaking_pipeline.resume_run"
#: Run tags a worker sets when it starts (or resumes) a run: evidence of where it ran.
WORKER_TAG = "speaking/celery_worker"
WORKER_PID_TAG = "speaking/celery_worker_pid"


def heartbeat_key(run_id: str) -> str:
    return f"speaking-pipeline:run-heartbeat:{run_id}"


def _origin(run: DagsterRun) -> JobPythonOrigin:
    """A launched run always has its job's code origin; a worker cannot load the code without it."""
    if run.job_code_origin is None:
        raise ValueError(f"run {run.run_id} has no code origin: it cannot run on a worker")
    return run.job_code_origin


class CeleryRunLauncher(StockCeleryRunLauncher):
    """dagster-celery's run launcher with a heartbeat health check and a working resume."""

    def __init__(self, *args: Any, heartbeat_timeout_seconds: int = 30, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heartbeat_timeout_seconds = heartbeat_timeout_seconds
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
        queue = run.tags.get("dagster-celery/queue", self.default_queue)
        result = self.celery.send_task(
            task_name, kwargs={"packed": packed, "heartbeat_ttl": self.heartbeat_timeout_seconds}, queue=queue
        )
        self._instance.add_run_tags(run.run_id, {DAGSTER_CELERY_TASK_ID_TAG: result.task_id})
        self._instance.report_engine_event(
            f"Sent to Celery queue {queue} ({task_name})",
            run,
            EngineEventData({"Celery Task ID": result.task_id, "Celery Queue": queue}),
            cls=self.__class__,
        )

    def check_run_worker_health(self, run: Any) -> CheckRunHealthResult:
        task_id = run.tags.get(DAGSTER_CELERY_TASK_ID_TAG)
        if task_id is None:
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "no Celery task id on the run")
        if self.celery.backend.client.exists(heartbeat_key(run.run_id)):
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        state = self.celery.AsyncResult(task_id).state
        if state == "SUCCESS":
            return CheckRunHealthResult(WorkerStatus.SUCCESS)
        if state == "FAILURE":
            return CheckRunHealthResult(WorkerStatus.FAILED, "Celery task failed")
        if state == "STARTED":
            return CheckRunHealthResult(
                WorkerStatus.FAILED,
                f"worker lost: no heartbeat for {self.heartbeat_timeout_seconds}s from {run.tags.get(WORKER_TAG)}",
            )
        # PENDING: a resumed run waiting in the queue for a free worker; start_timeout covers new runs.
        return CheckRunHealthResult(WorkerStatus.RUNNING, f"Celery task {state}")


# --- the worker side -------------------------------------------------------------------------------

app = Celery("speaking_pipeline")


@app.on_configure.connect
def _configure(sender: Celery, **_: Any) -> None:
    """Read the broker and backend when the worker configures the app, not at import."""
    sender.conf.update(
        broker_url=os.environ.get("DAGSTER_CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
        result_backend=os.environ.get("DAGSTER_CELERY_BACKEND_URL", "redis://127.0.0.1:6379/0"),
        task_default_queue="dagster",
        # A run is minutes long: take one at a time, and acknowledge it on start, so a dead worker's
        # run is never redelivered behind run monitoring's back (monitoring resumes it instead).
        worker_prefetch_multiplier=1,
        worker_disable_prefetch=True,  # Redis only: fetch a run only when a slot is free
        task_acks_late=False,
        worker_hijack_root_logger=False,
    )


@worker_init.connect
def _preload(**_: Any) -> None:
    """Import the code location once, in the worker's main process: its pool processes fork with it
    loaded, so a run starts without paying the imports (the run launcher's warm start)."""
    importlib.import_module("wiring.definitions")


@contextmanager
def _heartbeat(client: Any, run_id: str, ttl: int, value: str) -> Iterator[None]:
    """Keep ``heartbeat_key(run_id)`` alive (expiring ``ttl`` seconds after the last beat) while the body runs.

    The key is left to expire rather than deleted, so the final task state is stored before it goes.
    """
    stop = threading.Event()
    key = heartbeat_key(run_id)
    client.set(key, value, ex=ttl)

    def beat() -> None:
        while not stop.wait(max(ttl / 3, 0.5)):
            try:
                client.set(key, value, ex=ttl)
            except Exception:  # a Redis blip must not kill the run; monitoring judges missing beats
                logger.warning("heartbeat for run %s failed", run_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _run_in_worker(
    task: Any,
    packed: Any,
    ttl: int,
    as_type: type[ExecuteRunArgs] | type[ResumeRunArgs],
    body: Callable[..., int],
    ok: set[DagsterRunStatus],
) -> int:
    args: ExecuteRunArgs | ResumeRunArgs = unpack_value(packed, as_type=as_type)
    hostname, pid = task.request.hostname or "unknown", os.getpid()
    with DagsterInstance.get() as instance:
        run = instance.get_run_by_id(args.run_id)
        if run is None or run.status not in ok:
            # A duplicate delivery, or a run already failed by monitoring: running it again would double it.
            logger.warning("not running %s: status %s", args.run_id, run.status if run else "missing")
            return 0
        with _heartbeat(task.backend.client, args.run_id, ttl, f"{hostname} pid {pid}"):
            task.update_state(state="STARTED", meta={"hostname": hostname, "pid": pid})
            instance.add_run_tags(args.run_id, {WORKER_TAG: hostname, WORKER_PID_TAG: str(pid)})
            instance.report_engine_event(
                f"Running in Celery worker {hostname} (pid {pid})", run, EngineEventData({"pid": str(pid)})
            )
            return body(
                instance=instance,
                run_id=args.run_id,
                write_stream_fn=lambda _: None,
                set_exit_code_on_failure=True,
            )


@app.task(bind=True, name=EXECUTE_TASK)
def execute_run(self: Any, packed: Any, heartbeat_ttl: int = 30) -> int:
    """Execute one launched run in this worker process."""
    ok = {DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING}
    return _run_in_worker(self, packed, heartbeat_ttl, ExecuteRunArgs, _execute_run_command_body, ok)


@app.task(bind=True, name=RESUME_TASK)
def resume_run(self: Any, packed: Any, heartbeat_ttl: int = 30) -> int:
    """Resume a run whose worker was lost: steps already done are skipped."""
    ok = {DagsterRunStatus.STARTING, DagsterRunStatus.STARTED}
    return _run_in_worker(self, packed, heartbeat_ttl, ResumeRunArgs, _resume_run_command_body, ok)
