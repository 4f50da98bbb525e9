"""Choosing and building providers from settings; cloud SDKs are imported only when chosen."""

from __future__ import annotations

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
