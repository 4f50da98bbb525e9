"""Celery cluster faults on real workers, password Redis, PostgreSQL and the daemon: version skew, step
logs in S3, a Redis partition, terminate through GraphQL.

One deployment serves every case of the module, in file order (each starts the workers it needs).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import pytest
from celery import Celery
from dagster._core.events import DagsterEventType
from dagster_graphql.client.client_queries import TERMINATE_RUN_JOB_MUTATION
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

from launchers.celery_guard import CODE_VERSION_ENV
from launchers.celery_runs import WORKER_TAG
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.cluster import Cluster, spare_redis_db
from tests.support.daemon import wait_for
from tests.support.fake_api import FakeAPI
from tests.support.postgres_fixtures import throwaway_database
from tests.support.s3_server import S3Bucket, create_bucket, moto_s3_server
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.scaleout, pytest.mark.postgres]

TEXT = "Yesterday I go to the market and I buy a apple. Um, it was very very good."


@dataclass
class Deployment:
    cluster: Cluster
    instance: dg.DagsterInstance
    status: StatusStore
    fake: FakeAPI
    bucket: S3Bucket
    proxy: TcpProxy
    redis_url: str

    def upload(self, learner: str, session: str) -> None:
        """A text session of its own words (the memo would answer a repeated text without a call)."""
        prefix = f"uploads/{learner}/{session}"
        put = self.bucket.client.put_object
        put(Bucket=self.bucket.name, Key=f"{prefix}/transcript.txt", Body=f"{TEXT} ({session})".encode())
        put(Bucket=self.bucket.name, Key=f"{prefix}/session.json", Body=b'{"language": "en"}')

    def run_of(self, session: str) -> dg.DagsterRun | None:
        runs = self.instance.get_runs(dg.RunsFilter(tags={"dagster/partition": session}))
        assert len(runs) <= 1, f"{session} ran {len(runs)} times"
        return runs[0] if runs else None

    def wait(self, what: str, condition, timeout: float = 90) -> None:  # type: ignore[no-untyped-def]
        wait_for(condition, timeout=timeout, what=what, log=self.cluster.home / "daemon.log")

    def state(self, session: str) -> SessionState | None:
        row = self.status.get(session)
        return row.state if row else None

    def messages(self, run_id: str) -> list[str]:
        return [
            (e.dagster_event.message if e.dagster_event else None) or e.user_message
            for e in self.instance.all_logs(run_id)
        ]

    def events(self, run_id: str, kind: DagsterEventType) -> list[dg.EventLogEntry]:
        return [e for e in self.instance.all_logs(run_id) if e.dagster_event_type is kind]

    def start(self, name: str, *, proxied: bool = False, version: str = "v2") -> None:
        """A worker on standby (consuming no runs yet); ``proxied``: its Redis traffic goes through the proxy."""
        url = self.redis_url
        if proxied:
            parts = urlsplit(url)
            url = urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0] + f":{self.proxy.port}"))
        env = {"DAGSTER_CELERY_BROKER_URL": url, "DAGSTER_CELERY_BACKEND_URL": url, CODE_VERSION_ENV: version}
        self.cluster.start_worker(name, env, queue=f"standby-{name}")

    def take_runs(self, name: str) -> None:
        """The standby worker ``name`` starts consuming the runs' queue (it was started warm, in parallel)."""
        app = Celery(broker=self.redis_url)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                replies = app.control.add_consumer(
                    "dagster", destination=[f"{name}@{socket.gethostname()}"], reply=True, timeout=2
                )
                if replies:
                    return
            raise AssertionError(f"{name} never answered:\n{self.cluster.log_tail(name)}")
        finally:
            app.close()


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_server_url: str
) -> Iterator[Deployment]:
    """Code server and daemon of code version v2 on one PostgreSQL database, Redis db, S3 bucket and fake API."""
    home = tmp_path_factory.mktemp("faults")
    with (
        throwaway_database(postgres_url) as database,
        spare_redis_db(redis_server_url) as redis_url,
        moto_s3_server() as endpoint,
        FakeAPI(slow_seconds=120) as fake,
    ):
        redis_host = urlsplit(redis_url)
        bucket = create_bucket(endpoint)
        env = {
            **bucket.env(),
            "DAGSTER_POSTGRES_URL": database,
            "STATUS_DB_URL": database,
            "DAGSTER_CELERY_BROKER_URL": redis_url,
            "DAGSTER_CELERY_BACKEND_URL": redis_url,
            "DAGSTER_COMPUTE_LOGS_BUCKET": bucket.name,
            "UPLOADS_URI": bucket.uri("uploads"),
            "RESULTS_URI": bucket.uri("results"),
            "STT_PROVIDER": "openai",
            "ANALYZER_PROVIDER": "anthropic",
            "OPENAI_API_KEY": "sk-test-not-a-real-key",
            "ANTHROPIC_API_KEY": "sk-ant-test-not-a-real-key",
            "OPENAI_BASE_URL": fake.openai_base_url,
            "ANTHROPIC_BASE_URL": fake.anthropic_base_url,
            "PROVIDER_TIMEOUT_SECONDS": "300",
            "SENSOR_INTERVAL_SECONDS": "1",
            "UPLOAD_QUIET_SECONDS": "1",
            "SENSOR_BATCH_THRESHOLD": "1000",
            CODE_VERSION_ENV: "v2",
        }
        with (
            pytest.MonkeyPatch.context() as patch,
            TcpProxy(redis_host.hostname or "", redis_host.port or 0) as proxy,
        ):
            for name, value in env.items():  # this process reads the same instance (dagster.yaml's env vars)
                patch.setenv(name, value)
            cluster = Cluster(home, env)
            status = StatusStore(database)
            try:
                with dg.DagsterInstance.from_config(str(home)) as instance:
                    deployment = Deployment(cluster, instance, status, fake, bucket, proxy, redis_url)
                    # Every worker starts now, in parallel with the code server: "old" runs another code
                    # version; w1 (its Redis through the proxy) and w2 wait on standby until a case needs them.
                    cluster.start_worker("old", {CODE_VERSION_ENV: "v1"})
                    deployment.start("w1", proxied=True)
                    deployment.start("w2")
                    cluster.start_code_server()
                    cluster.start_daemon()
                    yield deployment
            finally:
                for name in list(cluster.processes):  # no graceful stops needed: the database is dropped
                    cluster.kill(name)
                status.dispose()


def _show_logs_on_failure(deployment: Deployment, body) -> None:  # type: ignore[no-untyped-def]
    try:
        body()
    except BaseException:
        print(deployment.cluster.logs())  # noqa: T201 - shown by pytest on failure only
        raise


def test_a_worker_of_another_code_version_requeues_and_step_logs_reach_s3(deployment: Deployment) -> None:
    """(d) an old worker refuses the run and says so; a current one runs it; (c) its step logs are in S3."""
    d = deployment

    def body() -> None:
        d.upload("ana", "skew-1")
        d.wait("skew-1's run", lambda: d.run_of("skew-1") is not None)
        run = d.run_of("skew-1")
        assert run is not None
        requeued = "runs code version v1, the run was launched with v2: requeued"
        d.wait("the old worker's refusal", lambda: any(requeued in m for m in d.messages(run.run_id)))
        assert d.state("skew-1") is not SessionState.DONE
        d.take_runs("w1")  # the current version: it takes the requeued task
        d.wait("skew-1 DONE", lambda: d.state("skew-1") is SessionState.DONE)
        d.wait("skew-1's run ended", lambda: d.instance.get_run_by_id(run.run_id).is_finished)  # type: ignore[union-attr]
        finished = d.instance.get_run_by_id(run.run_id)
        assert finished is not None and finished.status is dg.DagsterRunStatus.SUCCESS
        assert finished.tags[WORKER_TAG].startswith("w1@")
        d.cluster.kill("old")

        # (c) The step's captured output, read back as the UI reads it: the compute log manager on S3.
        [captured] = d.events(run.run_id, DagsterEventType.LOGS_CAPTURED)
        file_key = captured.dagster_event.logs_captured_data.file_key  # type: ignore[union-attr]
        manager = d.instance.compute_log_manager
        text = ""

        def stored() -> bool:
            nonlocal text
            data = manager.get_log_data([run.run_id, "compute_logs", file_key])
            text = (data.stderr or b"").decode(errors="replace") + (data.stdout or b"").decode(
                errors="replace"
            )
            return "session_stages - provider requests: 1" in text  # the step's own log line

        d.wait("skew-1's step logs in S3", stored, timeout=30)
        keys = [o["Key"] for o in d.bucket.client.list_objects_v2(Bucket=d.bucket.name)["Contents"]]
        assert any(run.run_id in key and "compute_logs" in key for key in keys), keys

    _show_logs_on_failure(d, body)


def test_a_worker_cut_off_from_redis_stops_and_each_session_is_paid_once(deployment: Deployment) -> None:
    """(b) w1's Redis traffic is blackholed mid-call; its run resumes on w2; one paid analysis, one success."""
    d = deployment

    def body() -> None:
        stalled, first = d.fake.stalled, len(d.fake.calls)
        d.fake.push("stall")  # the analysis call hangs until the caller hangs up
        d.upload("ben", "cut-1")
        d.wait("cut-1's analysis call on w1", lambda: d.fake.stalled > stalled)
        run = d.run_of("cut-1")
        assert run is not None and d.instance.get_run_by_id(run.run_id).tags[WORKER_TAG].startswith("w1@")  # type: ignore[union-attr]
        d.proxy.cut()
        d.take_runs("w2")
        d.wait("cut-1 DONE", lambda: d.state("cut-1") is SessionState.DONE, timeout=120)
        d.wait("cut-1's run ended", lambda: d.instance.get_run_by_id(run.run_id).is_finished)  # type: ignore[union-attr]
        after = d.instance.get_run_by_id(run.run_id)
        assert after is not None and after.status is dg.DagsterRunStatus.SUCCESS
        assert after.tags[WORKER_TAG].startswith("w2@"), after.tags[WORKER_TAG]
        calls = d.fake.calls[first:]
        assert [c["mode"] for c in calls if c["paid"]] == ["ok"], f"paid once: {calls}"
        assert [c["mode"] for c in calls if not c["paid"]] == ["stall"], "w1's call was abandoned unpaid"
        assert len(d.events(run.run_id, DagsterEventType.STEP_SUCCESS)) == 1
        materialized = d.events(run.run_id, DagsterEventType.ASSET_MATERIALIZATION)
        assert len(materialized) == len({e.asset_materialization.asset_key for e in materialized})  # type: ignore[union-attr]
        assert "could not renew its lease" in d.cluster.log_tail("w1", 20000)
        d.cluster.kill("w1")

    _show_logs_on_failure(d, body)


def test_terminate_through_graphql_cancels_the_run_without_a_retry_or_another_call(
    deployment: Deployment,
) -> None:
    """(a) The UI's terminateRun: CANCELING -> CANCELED, no retry, no further provider call, FAILED interrupted."""
    d = deployment

    def body() -> None:
        stalled = d.fake.stalled
        d.fake.push("stall")
        d.upload("cem", "term-1")
        d.wait("term-1's analysis call", lambda: d.fake.stalled > stalled)
        run = d.run_of("term-1")
        assert run is not None
        calls, paid = len(d.fake.calls), d.fake.paid_calls
        with define_out_of_process_context(str(d.cluster.workspace), None, d.instance) as context:
            result = execute_dagster_graphql(context, TERMINATE_RUN_JOB_MUTATION, {"runId": run.run_id})
        assert result.data["terminateRun"]["__typename"] == "TerminateRunSuccess", result.data
        d.wait(
            "term-1 CANCELED",
            lambda: d.instance.get_run_by_id(run.run_id).status is dg.DagsterRunStatus.CANCELED,
        )  # type: ignore[union-attr]
        row = d.status.get("term-1")
        assert row is not None and row.state is SessionState.FAILED
        assert (row.error or "").startswith("interrupted"), row.error
        kinds = [e.dagster_event_type for e in d.instance.all_logs(run.run_id)]
        assert DagsterEventType.RUN_CANCELING in kinds
        assert (
            DagsterEventType.STEP_UP_FOR_RETRY not in kinds and DagsterEventType.STEP_RESTARTED not in kinds
        )
        assert kinds.count(DagsterEventType.STEP_START) == 1
        # The call in flight is hung up (the fake records it unpaid) and nothing else reaches the provider.
        d.wait("the abandoned call hung up", lambda: len(d.fake.calls) > calls, timeout=30)
        assert [(c["mode"], c["paid"]) for c in d.fake.calls[calls:]] == [("stall", False)]
        assert d.fake.paid_calls == paid

    _show_logs_on_failure(d, body)
