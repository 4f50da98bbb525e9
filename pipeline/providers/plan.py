"""Which providers and models a deployment uses, known before any run (for pools and code versions)."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config.settings import Settings
from pipeline.domain.models import SCHEMA_VERSION
from pipeline.providers.factory import (
    DEFAULT_ANALYZER_MODELS,
    DEFAULT_STT_MODEL,
    choose_analyzer,
    choose_stt,
)
from pipeline.providers.speech_to_text.whisper_model import resolve_model

CLOUD_PROVIDERS = ("openai", "anthropic")
#: The offline speech-to-text's name and decoding-options version as its results carry them (a unit
#: test checks they match the class): spelled here because importing it pulls in numpy and PyAV,
#: ~0.8 s that every run's code load would pay before its first step, audio or not.
OFFLINE_STT_NAME, OFFLINE_DECODE_VERSION = "faster-whisper", "d1"


@dataclass(frozen=True)
class ProviderPlan:
    stt_provider: str
    stt_model: str
    analyzer_provider: str
    analyzer_model: str
    prompt_version: str
    stt_options: str = (
        ""  # what else changes a transcript (the offline recognizer's decoding and compute type)
    )

    @property
    def transcript_code_version(self) -> str:
        """Changes with the provider, the model (for the offline one, its weights' SHA-256) or options."""
        options = f":{self.stt_options}" if self.stt_options else ""
        return f"{self.stt_provider}:{self.stt_model}{options}:s{SCHEMA_VERSION}"

    @property
    def insights_code_version(self) -> str:
        """Changes with the prompt, the model or the schema: analysed partitions then show as stale."""
        return f"{self.analyzer_provider}:{self.analyzer_model}:{self.prompt_version}:s{SCHEMA_VERSION}"

    @property
    def pool(self) -> str:
        """The Dagster pool of the step that runs a session's stages.

        A pool per paid API bounds concurrent calls to it across runs (its rate limit). The step calls
        the analyzer for every session and speech-to-text only for recordings, so it takes a slot of
        the analyzer's API when that is a cloud one, else of the speech-to-text API, else of the
        machine's CPU (``local_cpu``).
        """
        for provider in (self.analyzer_provider, self.stt_provider):
            if provider in CLOUD_PROVIDERS:
                return provider
        return "local_cpu"


def provider_plan(settings: Settings, *, openai_key: str | None, anthropic_key: str | None) -> ProviderPlan:
    stt = choose_stt(settings, openai_key)
    analyzer = choose_analyzer(settings, anthropic_key, openai_key)
    if analyzer == "offline":
        from pipeline.providers.analysis.rules.analyzer import RuleBasedAnalyzer, model_label

        analyzer = RuleBasedAnalyzer.name  # the name its results carry, so plans and documents compare
        # The parser's identity (its files' digest) is part of the model: switching SPACY_MODEL re-analyses.
        analyzer_model, prompt_version = model_label(settings.spacy_model), RuleBasedAnalyzer.prompt_version
    else:
        from pipeline.providers.analysis.prompt import PROMPT_VERSION

        analyzer_model, prompt_version = (
            settings.analyzer_model or DEFAULT_ANALYZER_MODELS[analyzer],
            PROMPT_VERSION,
        )
    if stt == "offline":
        stt, stt_model = OFFLINE_STT_NAME, resolve_model(settings.offline_stt_model).label
        stt_options = f"{OFFLINE_DECODE_VERSION}-{settings.offline_stt_compute_type}"
    else:
        stt_model, stt_options = settings.stt_model or DEFAULT_STT_MODEL, ""
    return ProviderPlan(
        stt_provider=stt,
        stt_model=stt_model,
        analyzer_provider=analyzer,
        analyzer_model=analyzer_model,
        prompt_version=prompt_version,
        stt_options=stt_options,
    )
