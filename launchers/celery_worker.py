"""The worker side of the Celery deployment: the app ``celery -A launchers.celery_runs worker`` runs.

Each task executes (or resumes) one run in the pool process that took it, as one fenced attempt
(``launchers.celery_guard``): it checks that the run still names it, that it was launched with this
worker's code version, records itself as the holder and keeps the lease while the run executes.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery
from celery.signals import worker_init
from dagster import DagsterInstance, DagsterRunStatus
from dagster._cli.api import _execute_run_command_body, _resume_run_command_body
from dagster._core.events import EngineEventData
from dagster._grpc.types import ExecuteRunArgs, ResumeRunArgs
from dagster._serdes import unpack_value

from launchers.celery_guard import ATTEMPT_TAG, CODE_VERSION_TAG, HOLDER_TAG, Holder, code_version, lease

logger = logging.getLogger(__name__)

EXECUTE_TASK = "speaking_pipeline.execute_run"
RESUME_TASK = "speaking_pipeline.resume_run"
#: Run tags a worker sets when it starts (or resumes) a run: evidence of where it ran.
WORKER_TAG = "speaking/celery_worker"
WORKER_PID_TAG = "speaking/celery_worker_pid"
#: How long a run refused for its code version waits before it is offered to a worker again.
REQUEUE_SECONDS = 2

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
def _real_stdio() -> Iterator[None]:
    """The process's own stdout/stderr while a run executes: Celery's pool replaces them with logging
    proxies that have no file descriptor, and Dagster's compute log capture (which redirects the
    descriptors into the compute log store) silently skips such streams, losing every step log."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _run_in_worker(
    task: Any,
    packed: Any,
    ttl: int,
    as_type: type[ExecuteRunArgs] | type[ResumeRunArgs],
    body: Callable[..., int],
    ok: set[DagsterRunStatus],
) -> int:
    args: ExecuteRunArgs | ResumeRunArgs = unpack_value(packed, as_type=as_type)
    hostname, pid, attempt = task.request.hostname or "unknown", os.getpid(), task.request.id
    with DagsterInstance.get() as instance:
        run = instance.get_run_by_id(args.run_id)
        if run is None or run.status not in ok:
            # A duplicate delivery, or a run already failed by monitoring: running it again would double it.
            logger.warning("not running %s: status %s", args.run_id, run.status if run else "missing")
            return 0
        if run.tags.get(ATTEMPT_TAG) != attempt:
            logger.warning(
                "not running %s: attempt %s is not the run's (%s)",
                args.run_id,
                attempt,
                run.tags.get(ATTEMPT_TAG),
            )
            return 0
        planned, mine = run.tags.get(CODE_VERSION_TAG, code_version()), code_version()
        if planned != mine:
            message = (
                f"Worker {hostname} runs code version {mine}, the run was launched with {planned}: "
                f"requeued for a worker of version {planned}"
            )
            logger.warning("%s (run %s)", message, args.run_id)
            if not task.request.retries:  # said once on the run; each worker's log says it every time
                instance.report_engine_event(message, run)
            # The task's max_retries is None: requeued until a worker of the planned version takes
            # it (or pending_timeout_seconds fails the run), never failed for having waited.
            raise task.retry(countdown=REQUEUE_SECONDS)
        holder = Holder.me(attempt)
        with lease(task.app.conf.result_backend, args.run_id, holder, ttl), _real_stdio():
            task.update_state(state="STARTED", meta={"hostname": hostname, "pid": pid})
            instance.add_run_tags(
                args.run_id, {WORKER_TAG: hostname, WORKER_PID_TAG: str(pid), HOLDER_TAG: str(holder)}
            )
            instance.report_engine_event(
                f"Running in Celery worker {hostname} (pid {pid}, attempt {attempt}, code version {mine})",
                run,
                EngineEventData({"pid": str(pid), "attempt": attempt}),
            )
            return body(
                instance=instance,
                run_id=args.run_id,
                write_stream_fn=lambda _: None,
                set_exit_code_on_failure=True,
            )


@app.task(bind=True, name=EXECUTE_TASK, max_retries=None)
def execute_run(self: Any, packed: Any, heartbeat_ttl: int = 30) -> int:
    """Execute one launched run in this worker process."""
    ok = {DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING}
    return _run_in_worker(self, packed, heartbeat_ttl, ExecuteRunArgs, _execute_run_command_body, ok)


@app.task(bind=True, name=RESUME_TASK, max_retries=None)
def resume_run(self: Any, packed: Any, heartbeat_ttl: int = 30) -> int:
    """Resume a run whose worker was lost: steps already done are skipped."""
    ok = {DagsterRunStatus.STARTING, DagsterRunStatus.STARTED}
    return _run_in_worker(self, packed, heartbeat_ttl, ResumeRunArgs, _resume_run_command_body, ok)
