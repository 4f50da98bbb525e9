"""The Celery launcher's health check on a real Redis: heartbeat alive, lost, queued and finished runs."""

from __future__ import annotations

import time

import dagster as dg
import pytest
import redis
from dagster._core.launcher import WorkerStatus
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

from launchers.celery_runs import CeleryRunLauncher, _heartbeat, heartbeat_key

pytestmark = pytest.mark.scaleout


def test_a_started_run_is_alive_while_it_beats_and_lost_when_it_stops(redis_db: str) -> None:
    launcher = CeleryRunLauncher(
        default_queue="dagster", broker=redis_db, backend=redis_db, heartbeat_timeout_seconds=1
    )
    backend = launcher.celery.backend
    run = dg.DagsterRun(job_name="session_job", run_id="run-1", tags={DAGSTER_CELERY_TASK_ID_TAG: "task-1"})

    assert launcher.check_run_worker_health(run).status is WorkerStatus.RUNNING, "queued (PENDING): not dead"
    client = redis.Redis.from_url(redis_db)
    with _heartbeat(client, run.run_id, ttl=1, value="worker1@host pid 1"):
        backend.store_result("task-1", {"hostname": "worker1@host"}, "STARTED")
        time.sleep(1.5)  # longer than the ttl: only the beats keep it alive
        assert launcher.check_run_worker_health(run).status is WorkerStatus.RUNNING
    # The worker is gone (no more beats) and never wrote a final state: the key expires, the run is lost.
    deadline = time.monotonic() + 5
    while client.exists(heartbeat_key(run.run_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    lost = launcher.check_run_worker_health(run)
    assert lost.status is WorkerStatus.FAILED and "no heartbeat" in (lost.msg or "")

    backend.store_result("task-1", 0, "SUCCESS")
    assert launcher.check_run_worker_health(run).status is WorkerStatus.SUCCESS
    failed = dg.DagsterRun(
        job_name="session_job", run_id="run-2", tags={DAGSTER_CELERY_TASK_ID_TAG: "task-2"}
    )
    backend.store_result("task-2", RuntimeError("boom"), "FAILURE")
    assert launcher.check_run_worker_health(failed).status is WorkerStatus.FAILED
    client.close()
