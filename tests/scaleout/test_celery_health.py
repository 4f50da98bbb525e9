"""The Celery launcher's health check on a real Redis: every state it can read is alive, lost or bounded."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import redis
from dagster._core.launcher import WorkerStatus

from launchers.celery_guard import ATTEMPT_TAG, SENT_AT_TAG, Holder, heartbeat_key, lease
from launchers.celery_runs import CeleryRunLauncher

pytestmark = pytest.mark.scaleout


def _launcher(redis_db: str, **bounds: int) -> CeleryRunLauncher:
    return CeleryRunLauncher(
        default_queue="dagster", broker=redis_db, backend=redis_db, heartbeat_timeout_seconds=1, **bounds
    )


def test_a_started_run_is_alive_while_it_beats_and_lost_when_it_stops(redis_db: str) -> None:
    launcher = _launcher(redis_db)
    backend = launcher.celery.backend
    run = dg.DagsterRun(
        job_name="session_job",
        run_id="run-1",
        tags={ATTEMPT_TAG: "task-1", SENT_AT_TAG: f"{time.time():.0f}"},
    )

    assert launcher.check_run_worker_health(run).status is WorkerStatus.RUNNING, "queued (PENDING): not dead"
    client = redis.Redis.from_url(redis_db)
    with lease(redis_db, run.run_id, Holder.me("task-1"), ttl=1):
        backend.store_result("task-1", {"hostname": "worker1@host"}, "STARTED")
        time.sleep(1.5)  # longer than the ttl: only the renewals keep it alive
        assert launcher.check_run_worker_health(run).status is WorkerStatus.RUNNING
    # The worker is gone (no more renewals) and never wrote a final state: the lease expires, the run is lost.
    deadline = time.monotonic() + 5
    while client.exists(heartbeat_key(run.run_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    lost = launcher.check_run_worker_health(run)
    assert lost.status is WorkerStatus.FAILED and "no heartbeat" in (lost.msg or "")

    failed = dg.DagsterRun(job_name="session_job", run_id="run-2", tags={ATTEMPT_TAG: "task-2"})
    backend.store_result("task-2", RuntimeError("boom"), "FAILURE")
    assert launcher.check_run_worker_health(failed).status is WorkerStatus.FAILED
    client.close()


def test_a_task_nobody_takes_fails_its_run_after_the_pending_timeout(redis_db: str) -> None:
    """A lost resume message reads as PENDING forever: alive while it may still be queued, then failed."""
    launcher = _launcher(redis_db, pending_timeout_seconds=600)
    fresh = dg.DagsterRun(
        job_name="session_job",
        run_id="run-3",
        tags={ATTEMPT_TAG: "lost-1", SENT_AT_TAG: f"{time.time() - 5:.0f}"},
    )
    assert launcher.check_run_worker_health(fresh).status is WorkerStatus.RUNNING
    old = dg.DagsterRun(
        job_name="session_job",
        run_id="run-4",
        tags={ATTEMPT_TAG: "lost-2", SENT_AT_TAG: f"{time.time() - 601:.0f}"},
    )
    result = launcher.check_run_worker_health(old)
    assert result.status is WorkerStatus.FAILED and "still PENDING" in (result.msg or ""), result.msg


def test_a_finished_task_whose_run_did_not_finish_fails_after_the_grace(redis_db: str) -> None:
    """Task SUCCESS but the run still STARTED (its end was never recorded): healthy for the grace only."""
    with dg.instance_for_test() as instance:
        launcher = _launcher(redis_db, finish_grace_seconds=60)
        launcher.register_instance(instance)
        run = instance.add_run(
            dg.DagsterRun(
                job_name="session_job",
                run_id=str(uuid.uuid4()),
                status=dg.DagsterRunStatus.STARTED,
                tags={ATTEMPT_TAG: "done-1"},
            )
        )
        launcher.celery.backend.store_result("done-1", 0, "SUCCESS")
        assert launcher.check_run_worker_health(run).status is WorkerStatus.RUNNING, "within the grace"
        # The task ended 61 s ago: rewrite its stored date_done, as Redis would hold it by then.
        meta = launcher.celery.backend.get_task_meta("done-1")
        meta["date_done"] = (datetime.now(UTC) - timedelta(seconds=61)).isoformat()
        launcher.celery.backend.set(
            launcher.celery.backend.get_key_for_task("done-1"), launcher.celery.backend.encode(meta)
        )
        launcher.celery.backend._cache.clear()
        late = launcher.check_run_worker_health(run)
        assert late.status is WorkerStatus.FAILED and "finish_grace_seconds" in (late.msg or ""), late.msg
        instance.report_run_failed(run)
        assert launcher.check_run_worker_health(run).status is WorkerStatus.SUCCESS, "the run did end"
