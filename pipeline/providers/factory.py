"""Choosing and building providers from settings; cloud SDKs are imported only when chosen."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pipeline.config.settings import ConfigError, Settings
from pipeline.providers.analysis import Analyzer
from pipeline.providers.speech_to_text import SpeechToText

DEFAULT_STT_MODEL = "gpt-4o-mini-transcribe"
DEFAULT_ANALYZER_MODELS = {"anthropic": "claude-haiku-4-5", "openai": "gpt-4o-mini"}


def choose_stt(settings: Settings, openai_key: str | None) -> str:
    if settings.stt_provider == "auto":
        return "openai" if openai_key else "offline"
    return settings.stt_provider


def choose_analyzer(settings: Settings, anthropic_key: str | None, openai_key: str | None) -> str:
    if settings.analyzer_provider == "auto":
        return "anthropic" if anthropic_key else "openai" if openai_key else "offline"
    return settings.analyzer_provider


def _cloud_options(settings: Settings) -> dict[str, Any]:
    return {
        "timeout_seconds": settings.provider_timeout_seconds,
        "max_retries": settings.provider_max_retries,
        "prices": settings.prices,
    }


def _require(key: str | None, provider: str, variable: str, setting: str) -> str:
    if not key:
        raise ConfigError(f"{setting}={provider} needs {variable}; set it or use {setting}=offline")
    return key


@contextmanager
def _as_config_error() -> Iterator[None]:
    """Providers reject bad settings (e.g. a price table) with ValueError; users need the variable."""
    try:
        yield
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(
            f"PRICES_JSON, CONTEXT_WINDOWS_JSON or a provider setting is invalid: {exc}"
        ) from None


def build_speech_to_text(settings: Settings, openai_key: str | None) -> SpeechToText:
    with _as_config_error():
        return _build_speech_to_text(settings, openai_key)


def build_analyzer(settings: Settings, anthropic_key: str | None, openai_key: str | None) -> Analyzer:
    with _as_config_error():
        return _build_analyzer(settings, anthropic_key, openai_key)


def _build_speech_to_text(settings: Settings, openai_key: str | None) -> SpeechToText:
    provider = choose_stt(settings, openai_key)
    if provider == "offline":
        from pipeline.providers.speech_to_text.offline import FasterWhisperSpeechToText

        return FasterWhisperSpeechToText(
            model=settings.offline_stt_model,
            device=settings.offline_stt_device,
            compute_type=settings.offline_stt_compute_type,
            max_audio_seconds=settings.max_audio_seconds,
        )
    from pipeline.providers.speech_to_text.openai_stt import OpenAISpeechToText

    return OpenAISpeechToText(
        api_key=_require(openai_key, provider, "OPENAI_API_KEY", "STT_PROVIDER"),
        model=settings.stt_model or DEFAULT_STT_MODEL,
        max_audio_seconds=settings.max_audio_seconds,
        **_cloud_options(settings),
    )


def _build_analyzer(settings: Settings, anthropic_key: str | None, openai_key: str | None) -> Analyzer:
    provider = choose_analyzer(settings, anthropic_key, openai_key)
    if provider == "offline":
        from pipeline.providers.analysis.rules.analyzer import RuleBasedAnalyzer

        return RuleBasedAnalyzer(settings.spacy_model)
    model = settings.analyzer_model or DEFAULT_ANALYZER_MODELS[provider]
    options = {**_cloud_options(settings), "context_windows": settings.context_windows}
    if provider == "anthropic":
        from pipeline.providers.analysis.anthropic_analyzer import AnthropicAnalyzer

        key = _require(anthropic_key, provider, "ANTHROPIC_API_KEY", "ANALYZER_PROVIDER")
        return AnthropicAnalyzer(api_key=key, model=model, **options)
    from pipeline.providers.analysis.openai_analyzer import OpenAIAnalyzer

    key = _require(openai_key, provider, "OPENAI_API_KEY", "ANALYZER_PROVIDER")
    return OpenAIAnalyzer(api_key=key, model=model, **options)


#: What a cloud provider's first call imports: its SDK and the HTTP client the budget gate wraps.
_CLOUD_MODULES = {
    "anthropic": ("anthropic", "httpx2", "httpcore2", "pipeline.providers.analysis.anthropic_analyzer"),
    "openai": ("openai", "httpx2", "httpcore2", "pipeline.providers.analysis.openai_analyzer"),
}


def preload(settings: Settings, anthropic_key: str | None, openai_key: str | None) -> list[str]:
    """Import now what the chosen cloud providers import on first use, and read the model table.

    For a process that forks its runs (a Celery worker's pool): done once before the fork, each run
    starts with them loaded instead of paying the SDK import (~1 CPU-second for ``anthropic``) and
    the price table (~0.3 s) again in every new pool process. Offline providers are left lazy: a
    text session never needs the speech model, and the rules analyzer loads its spaCy model itself.
    Returns the modules loaded.
    """
    chosen = {choose_analyzer(settings, anthropic_key, openai_key), choose_stt(settings, openai_key)}
    modules = [name for vendor in sorted(chosen & _CLOUD_MODULES.keys()) for name in _CLOUD_MODULES[vendor]]
    for name in dict.fromkeys(modules):
        importlib.import_module(name)
    if chosen & _CLOUD_MODULES.keys():
        from pipeline.providers import model_catalog

        model_catalog.load()
        modules.append("genai_prices")
    return list(dict.fromkeys(modules))
