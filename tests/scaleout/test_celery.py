"""Runs on two real Celery workers over Redis and PostgreSQL, surviving a killed worker and a killed daemon."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import InstigatorType, TickStatus

from launchers.celery_runs import WORKER_PID_TAG, WORKER_TAG
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.cluster import Cluster
from tests.support.daemon import wait_for
from tests.support.fake_api import FakeAPI
from tests.support.s3_server import S3Bucket, create_bucket, moto_s3_server
from tests.support.sessions import AUDIO

pytestmark = [pytest.mark.scaleout, pytest.mark.postgres]

TEXTS = {
    ("ana", "cel-ana-1"): "Yesterday I go to the market and I buy a apple. Um, it was very very good.",
    ("ben", "cel-ben-1"): "I have went to the cinema and the film was very very long. Um, I liked it.",
    ("cem", "cel-cem-1"): "My sister don't like coffee. She have a cat and the cat is very very lazy.",
    ("dan", "cel-dan-1"): "He go to school every day and he don't never miss the bus, you know.",
}
SLOW = ("eva", "cel-eva-1")
FOLDERS = ("transcripts", "insights", "pattern_profiles")


def upload(
    bucket: S3Bucket, learner: str, session: str, *, text: str | None = None, audio: str | None = None
) -> None:
    prefix = f"uploads/{learner}/{session}"
    if text is not None:
        bucket.client.put_object(Bucket=bucket.name, Key=f"{prefix}/transcript.txt", Body=text.encode())
    if audio is not None:
        bucket.client.put_object(
            Bucket=bucket.name, Key=f"{prefix}/audio.wav", Body=(AUDIO / audio).read_bytes()
        )
    bucket.client.put_object(Bucket=bucket.name, Key=f"{prefix}/session.json", Body=b'{"language": "en"}')


def _wait_for_a_tick_in_flight(instance: dg.DagsterInstance, *, after: float, timeout: float = 60) -> None:
    """Return as soon as an uploads_sensor tick started after ``after`` is still in progress."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
            if state.instigator_name != "uploads_sensor":
                continue
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
            if ticks and ticks[0].status is TickStatus.STARTED and ticks[0].timestamp > after:
                return
        time.sleep(0.02)
    raise AssertionError("no uploads_sensor tick caught in flight")


def _parent_pid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError(f"no PPid for {pid}")


def test_runs_execute_on_celery_workers_and_survive_kills(
    tmp_path: Path, fresh_database: str, redis_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with moto_s3_server() as endpoint, FakeAPI(slow_seconds=60) as fake:
        bucket = create_bucket(endpoint)
        env = {
            **bucket.env(),
            "DAGSTER_POSTGRES_URL": fresh_database,
            "STATUS_DB_URL": fresh_database,
            "DAGSTER_CELERY_BROKER_URL": redis_db,
            "DAGSTER_CELERY_BACKEND_URL": redis_db,
            "DAGSTER_COMPUTE_LOGS_BUCKET": bucket.name,
            "UPLOADS_URI": bucket.uri("uploads"),
            "RESULTS_URI": bucket.uri("results"),
            "STT_PROVIDER": "openai",
            "ANALYZER_PROVIDER": "anthropic",
            "OPENAI_API_KEY": "sk-test-not-a-real-key",
            "ANTHROPIC_API_KEY": "sk-ant-test-not-a-real-key",
            "OPENAI_BASE_URL": fake.openai_base_url,
            "ANTHROPIC_BASE_URL": fake.anthropic_base_url,
            "PROVIDER_TIMEOUT_SECONDS": "120",
            "SENSOR_INTERVAL_SECONDS": "1",
            "UPLOAD_QUIET_SECONDS": "1",
            # One run per session, so each kill hits one session's run (batched runs take the same path).
            "SENSOR_BATCH_THRESHOLD": "1000",
        }
        for name, value in env.items():  # this process reads the same instance (dagster.yaml's env vars)
            monkeypatch.setenv(name, value)
        cluster = Cluster(tmp_path / "home", env)
        status = StatusStore(fresh_database)
        try:
            cluster.start_code_server()
            workers = {name: cluster.start_worker(name) for name in ("worker1", "worker2")}
            daemon = cluster.start_daemon()

            def runs(instance: dg.DagsterInstance, session: str) -> list[dg.DagsterRun]:
                return list(instance.get_runs(dg.RunsFilter(tags={"dagster/partition": session})))

            def done(sessions: set[str]) -> bool:
                states = {s.session_id: s.state for s in status.list()}
                return all(states.get(session) is SessionState.DONE for session in sessions)

            with dg.DagsterInstance.from_config(str(cluster.home)) as instance:
                # 1. The daemon is killed -9 while the sensor's tick for the burst is in flight, then restarted.
                for (learner, session), text in TEXTS.items():
                    upload(bucket, learner, session, text=text)
                uploaded_at = time.time()
                texts = {session for _, session in TEXTS}
                _wait_for_a_tick_in_flight(instance, after=uploaded_at)
                cluster.kill("daemon")
                daemon = cluster.start_daemon()
                wait_for(
                    lambda: done(texts),
                    timeout=120,
                    what="the burst DONE",
                    daemon=daemon,
                    log=cluster.home / "daemon.log",
                )
                for session in texts:
                    assert len(runs(instance, session)) == 1, (
                        f"{session} ran {len(runs(instance, session))} times"
                    )
                ran_in = {
                    run.tags.get(WORKER_TAG, "").split("@")[0]
                    for session in texts
                    for run in runs(instance, session)
                }
                assert ran_in <= set(workers), f"runs executed outside the workers: {ran_in}"
                for session in texts:
                    (run,) = runs(instance, session)
                    parent = _parent_pid(int(run.tags[WORKER_PID_TAG]))
                    assert str(parent) == str(workers[run.tags[WORKER_TAG].split("@")[0]].pid), (
                        f"{session} ran in pid {run.tags[WORKER_PID_TAG]}, not a pool process of its worker"
                    )

                # 2. A worker is killed -9 while its run waits on a paid API call after a paid transcription.
                first_call = len(fake.calls)
                fake.push("ok", "stall")  # transcription ok, analysis stalls
                learner, session = SLOW
                upload(bucket, learner, session, audio="speech.wav")
                wait_for(
                    lambda: fake.stalled >= 1,
                    timeout=90,
                    what="the slow session's analysis call",
                    log=cluster.home / "daemon.log",
                )
                (run,) = runs(instance, session)
                victim = instance.get_run_by_id(run.run_id).tags[WORKER_TAG].split("@")[0]  # type: ignore[union-attr]
                survivor = ({"worker1", "worker2"} - {victim}).pop()
                cluster.kill(victim)
                killed_at = time.monotonic()
                wait_for(lambda: done({session}), timeout=120, what=f"{session} DONE after {victim} died", daemon=daemon,
                         log=cluster.home / "daemon.log")  # fmt: skip
                recovered_in = time.monotonic() - killed_at
                # DONE is written a moment before the resumed run reports its end.
                wait_for(lambda: instance.get_run_by_id(run.run_id).is_finished, timeout=60,  # type: ignore[union-attr]
                         what=f"{session}'s run finished", daemon=daemon, log=cluster.home / "daemon.log")  # fmt: skip

                (after,) = runs(instance, session)
                assert after.run_id == run.run_id and after.status is dg.DagsterRunStatus.SUCCESS, (
                    "resumed, not rerun"
                )
                assert after.tags[WORKER_TAG].startswith(survivor), f"finished on {after.tags[WORKER_TAG]}"
                calls = fake.calls[first_call:]
                paid = [(call["path"], call["mode"]) for call in calls if call["paid"]]
                assert sum(1 for path, _ in paid if "transcriptions" in path) == 1, (
                    f"transcription paid twice: {paid}"
                )
                assert sum(1 for path, _ in paid if "messages" in path) == 1, f"analysis paid twice: {paid}"
                assert [c["mode"] for c in calls if not c["paid"]] == ["stall"], (
                    "only the abandoned call went unpaid"
                )
                messages = [
                    (e.dagster_event.message if e.dagster_event else None) or e.user_message
                    for e in instance.all_logs(run.run_id)
                ]
                assert any("worker lost: no heartbeat" in m for m in messages), (
                    f"run monitoring did not notice the loss: {messages}"
                )
                assert sum("Running in Celery worker" in m for m in messages) == 2, (
                    "started once, resumed once"
                )
                assert recovered_in < 120
        except BaseException:
            print(cluster.logs())  # noqa: T201 - shown by pytest on failure only
            raise
        finally:
            cluster.stop()
            status.dispose()

        keys = {
            o["Key"] for o in bucket.client.list_objects_v2(Bucket=bucket.name, Prefix="results/")["Contents"]
        }
        for session in {s for _, s in TEXTS} | {SLOW[1]}:
            for folder in FOLDERS:
                assert f"results/{folder}/{session}.json" in keys, f"{folder}/{session}.json missing in S3"
