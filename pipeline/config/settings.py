"""Configuration from environment variables, read once at resource or run time (never at import).

Secrets are not here: API keys reach the providers through ``dg.EnvVar`` in ``resources.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

AudioRetention = Literal["keep", "delete_after_transcription"]

#: CTranslate2's compute types; ``auto`` is int8 on CPU and float16 on CUDA.
COMPUTE_TYPES = (
    "auto",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the variable and what it accepts."""


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not supported; use one of: {', '.join(allowed)}")
    return value


def _number(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be >= {minimum:g}")
    return value


@dataclass(frozen=True)
class Settings:
    uploads_uri: str = "data/uploads"
    results_uri: str = "data/results"
    status_db_url: str = "sqlite:///data/status.db"
    stt_provider: str = "auto"
    analyzer_provider: str = "auto"
    stt_model: str | None = None
    analyzer_model: str | None = None
    audio_retention: AudioRetention = "keep"
    quiet_seconds: float = 10.0
    sensor_interval_seconds: int = 5
    alert_interval_seconds: int = 30
    max_runs_per_tick: int = 500
    batch_threshold: int = 3
    batch_size: int = 50
    provider_timeout_seconds: float = 120.0
    provider_max_retries: int = 2
    breaker_threshold: int = 3
    run_concurrency: int = 16
    local_cpu_concurrency: int = 0  # 0: the machine's cores
    provider_limits_json: str = ""  # PROVIDER_LIMITS_JSON, read by pipeline.config.limits.parse_limits
    provider_budget: str = "database"  # where the shared budget lives: the status database or Redis
    max_audio_seconds: float = 4 * 3600.0
    prices: Mapping[str, Any] | None = None
    context_windows: Mapping[str, Any] | None = None
    uploads_events_queue_url: str | None = None
    offline_stt_model: str = "tiny.en"
    offline_stt_device: str = "auto"
    offline_stt_compute_type: str = "auto"
    spacy_model: str = ""  # the offline analyzer's parser: empty for the pinned default

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        prices_raw = env.get("PRICES_JSON", "").strip()
        try:
            prices = json.loads(prices_raw) if prices_raw else None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"PRICES_JSON is not valid JSON: {exc}") from None
        windows_raw = env.get("CONTEXT_WINDOWS_JSON", "").strip()
        try:
            context_windows = json.loads(windows_raw) if windows_raw else None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"CONTEXT_WINDOWS_JSON is not valid JSON: {exc}") from None
        if context_windows is not None and not isinstance(context_windows, dict):
            raise ConfigError('CONTEXT_WINDOWS_JSON must be an object like {"my-model": 64000}')
        return cls(
            uploads_uri=env.get("UPLOADS_URI", "").strip() or cls.uploads_uri,
            results_uri=env.get("RESULTS_URI", "").strip() or cls.results_uri,
            status_db_url=env.get("STATUS_DB_URL", "").strip() or cls.status_db_url,
            stt_provider=_choice(env, "STT_PROVIDER", "auto", ("auto", "openai", "offline")),
            analyzer_provider=_choice(
                env, "ANALYZER_PROVIDER", "auto", ("auto", "anthropic", "openai", "offline")
            ),
            stt_model=env.get("STT_MODEL", "").strip() or None,
            analyzer_model=env.get("ANALYZER_MODEL", "").strip() or None,
            audio_retention=cast(
                AudioRetention,
                _choice(env, "AUDIO_RETENTION", "keep", ("keep", "delete_after_transcription")),
            ),
            quiet_seconds=_number(env, "UPLOAD_QUIET_SECONDS", cls.quiet_seconds),
            sensor_interval_seconds=int(
                _number(env, "SENSOR_INTERVAL_SECONDS", cls.sensor_interval_seconds, 1)
            ),
            alert_interval_seconds=int(_number(env, "ALERT_INTERVAL_SECONDS", cls.alert_interval_seconds, 1)),
            max_runs_per_tick=int(_number(env, "SENSOR_MAX_RUNS_PER_TICK", cls.max_runs_per_tick, 1)),
            batch_threshold=int(_number(env, "SENSOR_BATCH_THRESHOLD", cls.batch_threshold, 0)),
            batch_size=int(_number(env, "SENSOR_BATCH_SIZE", cls.batch_size, 1)),
            provider_timeout_seconds=_number(
                env, "PROVIDER_TIMEOUT_SECONDS", cls.provider_timeout_seconds, 1
            ),
            provider_max_retries=int(_number(env, "PROVIDER_MAX_RETRIES", cls.provider_max_retries)),
            breaker_threshold=int(_number(env, "PROVIDER_BREAKER_THRESHOLD", cls.breaker_threshold, 1)),
            provider_limits_json=env.get("PROVIDER_LIMITS_JSON", ""),
            provider_budget=_choice(env, "PROVIDER_BUDGET", "database", ("database", "redis")),
            local_cpu_concurrency=int(_number(env, "LOCAL_CPU_CONCURRENCY", cls.local_cpu_concurrency, 0)),
            run_concurrency=int(_number(env, "RUN_CONCURRENCY", cls.run_concurrency, 1)),
            max_audio_seconds=_number(env, "MAX_AUDIO_SECONDS", cls.max_audio_seconds, 1),
            prices=prices,
            context_windows=context_windows,
            uploads_events_queue_url=env.get("UPLOADS_EVENTS_QUEUE_URL", "").strip() or None,
            offline_stt_model=env.get("OFFLINE_STT_MODEL", "").strip() or cls.offline_stt_model,
            offline_stt_device=_choice(env, "OFFLINE_STT_DEVICE", "auto", ("auto", "cpu", "cuda")),
            offline_stt_compute_type=_choice(env, "OFFLINE_STT_COMPUTE_TYPE", "auto", COMPUTE_TYPES),
            spacy_model=env.get("SPACY_MODEL", "").strip(),
        )
