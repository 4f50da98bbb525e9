"""Dagster resources: configuration in, the plain core objects out.

Every field is optional and overrides the matching environment variable (``Settings``), which is
read when a run or sensor tick starts, never at import. API keys come only through ``dg.EnvVar``.
"""

from __future__ import annotations

import mimetypes
import os
import threading
from collections.abc import Callable
from typing import Any, cast

import dagster as dg
from pydantic import PrivateAttr

from pipeline.config.limits import parse_limits
from pipeline.config.settings import ConfigError, Settings
from pipeline.providers.factory import build_analyzer, build_speech_to_text, preload
from pipeline.providers.speech_to_text import SpeechToText
from pipeline.stages.services import Services
from pipeline.status.budget import ProviderBudget
from pipeline.status.budget_redis import RedisProviderBudget
from pipeline.status.store import StatusStore
from pipeline.storage import Storage, open_storage
from pipeline.storage.change_feed import ChangeFeed, SqsChangeFeed
from pipeline.storage.s3 import S3Storage

#: Resource fields and the environment variables they override.
_OVERRIDES = {
    "uploads_uri": "UPLOADS_URI",
    "results_uri": "RESULTS_URI",
    "status_db_url": "STATUS_DB_URL",
    "stt_provider": "STT_PROVIDER",
    "analyzer_provider": "ANALYZER_PROVIDER",
    "audio_retention": "AUDIO_RETENTION",
    "quiet_seconds": "UPLOAD_QUIET_SECONDS",
}


#: One boto3 session per set of AWS_* variables, shared by the process's S3 clients (see ``s3_client``).
_boto_sessions: dict[tuple[tuple[str, str], ...], Any] = {}
_boto_lock = threading.Lock()


def s3_client() -> Any:
    """An S3 client as ``dagster_aws``' ``S3Resource()`` makes one (AWS_ENDPOINT_URL, AWS_REGION, the
    credential chain, 5 attempts), from a boto3 session the process keeps.

    A new session loads botocore's S3 model again (~0.15-0.25 CPU-second a client); from a kept one
    a client costs ~0.01 s. Sessions hold no connections (each client has its own pool), so one made
    before a fork serves the forked processes too; sessions are not thread-safe, hence the lock. A
    change of any AWS_* variable gets a session of its own.
    """
    import boto3
    from dagster_aws.utils import construct_boto_client_retry_config

    key = tuple(sorted((name, value) for name, value in os.environ.items() if name.startswith("AWS_")))
    with _boto_lock:
        session = _boto_sessions.get(key)
        if session is None:
            session = _boto_sessions[key] = boto3.session.Session()
        return session.client("s3", config=construct_boto_client_retry_config(5))


class _Lazy:
    """A provider built on first use: a run of text sessions never loads the audio decoder (PyAV, numpy)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._target: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._target is None:
            self._target = self._build()
        return getattr(self._target, name)


class PipelineResource(dg.ConfigurableResource):
    """Where uploads, results and statuses live, and which providers transcribe and analyse."""

    uploads_uri: str | None = None
    results_uri: str | None = None
    status_db_url: str | None = None
    stt_provider: str | None = None
    analyzer_provider: str | None = None
    audio_retention: str | None = None
    quiet_seconds: float | None = None

    _settings: Settings | None = PrivateAttr(default=None)
    _services: Services | None = PrivateAttr(default=None)
    _status: StatusStore | None = PrivateAttr(default=None)
    _s3: Any = PrivateAttr(default=None)

    def settings(self) -> Settings:
        """The environment's settings with this resource's fields on top, validated alike (once per run or tick)."""
        if self._settings is None:
            env = dict(os.environ)
            for field, variable in _OVERRIDES.items():
                value = getattr(self, field)
                if value is not None:
                    env[variable] = str(value)
            self._settings = Settings.from_env(env)
        return self._settings

    def _storage(self, uri: str) -> Storage:
        if uri.startswith("s3://"):
            if self._s3 is None:
                self._s3 = s3_client()  # one for uploads and results: boto3 clients are thread-safe
            return open_storage(uri, s3_client=self._s3)
        return open_storage(uri)

    def status_store(self) -> StatusStore:
        if self._status is None:
            self._status = StatusStore(self.settings().status_db_url)
        return self._status

    def uploads(self) -> Storage:
        return self._storage(self.settings().uploads_uri)

    def results(self) -> Storage:
        """The results storage alone (the views need no providers)."""
        return self._storage(self.settings().results_uri)

    def change_feed(self, uploads: Storage) -> ChangeFeed | None:
        """S3 event notifications through SQS when ``UPLOADS_EVENTS_QUEUE_URL`` is set, else None (listing)."""
        queue_url = self.settings().uploads_events_queue_url
        if not queue_url:
            return None
        if not isinstance(uploads, S3Storage):
            raise ConfigError("UPLOADS_EVENTS_QUEUE_URL needs an s3:// UPLOADS_URI")
        import boto3  # dagster-aws's dependency; honours AWS_ENDPOINT_URL, AWS_REGION, credentials

        # Receipt handles are kept until the next tick acknowledges them: bound them to what a tick can use.
        max_messages = 2 * self.settings().max_runs_per_tick
        return SqsChangeFeed(boto3.client("sqs"), queue_url, uploads.prefix, uploads.bucket, max_messages)

    def services(self) -> Services:
        """Build (once per resource instance) everything a stage needs."""
        if self._services is None:
            settings = self.settings()
            openai_key = dg.EnvVar("OPENAI_API_KEY").get_value() or None
            anthropic_key = dg.EnvVar("ANTHROPIC_API_KEY").get_value() or None
            self._services = Services(
                uploads=self._storage(settings.uploads_uri),
                results=self._storage(settings.results_uri),
                status=self.status_store(),
                speech_to_text=cast(SpeechToText, _Lazy(lambda: build_speech_to_text(settings, openai_key))),
                analyzer=build_analyzer(settings, anthropic_key, openai_key),
                audio_retention=settings.audio_retention,
                breaker_threshold=settings.breaker_threshold,
                concurrency=settings.run_concurrency,
                local_cpu=settings.local_cpu_concurrency or (os.cpu_count() or 1),
                budget=self._budget(settings),
            )
        return self._services

    def preload(self) -> list[str]:
        """Import what this environment's providers load on first use (see ``factory.preload``)."""
        settings = self.settings()
        anthropic_key = dg.EnvVar("ANTHROPIC_API_KEY").get_value() or None
        openai_key = dg.EnvVar("OPENAI_API_KEY").get_value() or None
        loaded = preload(settings, anthropic_key, openai_key)
        if "s3://" in settings.uploads_uri + settings.results_uri:
            s3_client()  # loads botocore's S3 model into the kept session
            mimetypes.init()  # S3 writes guess their content type: reads the system's table once
            loaded.append("boto3 s3")
        return loaded

    def _budget(self, settings: Settings) -> ProviderBudget | RedisProviderBudget:
        """The instance's provider budget: in the status database, or in Redis (``PROVIDER_BUDGET=redis``)."""
        limits = parse_limits(settings.provider_limits_json)
        if settings.provider_budget == "redis":
            url = dg.EnvVar("PROVIDER_BUDGET_REDIS_URL").get_value() or ""  # may hold a password
            if not url:
                raise ConfigError("PROVIDER_BUDGET=redis needs PROVIDER_BUDGET_REDIS_URL (redis://...)")
            return RedisProviderBudget(url, limits)
        return ProviderBudget(self.status_store().engine, limits)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._status is not None:
            self._status.dispose()
