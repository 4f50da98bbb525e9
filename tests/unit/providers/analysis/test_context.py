"""The context window checked before paying: token estimate, table, splitting, and chunked analysis via the fake API."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipeline.config.settings import ConfigError, Settings
from pipeline.domain.errors import PermanentError, TransientError
from pipeline.providers.analysis import prompt
from pipeline.providers.analysis.anthropic_analyzer import AnthropicAnalyzer
from pipeline.providers.analysis.context import (
    DEFAULT_CONTEXT_TOKENS,
    context_table,
    context_window,
    estimate_tokens,
    split_to_fit,
)
from pipeline.providers.analysis.openai_analyzer import OpenAIAnalyzer
from pipeline.providers.factory import build_analyzer
from pipeline.stages.insights import analyze_session
from pipeline.stages.services import Services
from pipeline.stages.transcript import transcribe_session
from tests.support.fake_api import FakeAPI
from tests.support.fake_api_bodies import request_tokens
from tests.support.sessions import ROOT, add_session

ANALYZERS = ("openai", "anthropic")
WINDOW = 12_000  # a small context window, configured in the analyzer and enforced by the fake API
MAX_TOKENS = 1_000
EXAMPLES = sorted((ROOT / "examples" / "sessions").glob("*/*/transcript.txt"))


def sentence(i: int) -> str:
    return f"On day {i} I go to the market and I buy a apple, it was very very good."


def long_text(words: int) -> str:
    """A learner-like transcript of about ``words`` words, every sentence distinct."""
    return " ".join(sentence(i) for i in range(words // len(sentence(0).split())))


def budgets(provider: Any, times: float) -> str:
    """A transcript of about ``times`` the estimated tokens one request to ``provider`` can carry."""
    size = times * provider.transcript_budget("en")
    return " ".join(sentence(i) for i in range(int(size / estimate_tokens(sentence(500)))))


def analyzer(kind: str, fake: FakeAPI, **options: Any) -> Any:
    settings: dict[str, Any] = {"api_key": "sk-test-key", "max_retries": 1, **options}
    if kind == "openai":
        return OpenAIAnalyzer(base_url=fake.openai_base_url, **settings)
    return AnthropicAnalyzer(base_url=fake.anthropic_base_url, **settings)


def windowed(kind: str, fake: FakeAPI, window: int = WINDOW, **options: Any) -> Any:
    model = "gpt-4o-mini" if kind == "openai" else "claude-haiku-4-5"
    return analyzer(
        kind, fake, model=model, context_windows={model: window}, max_tokens=MAX_TOKENS, **options
    )


@pytest.fixture
def small_fake() -> Any:
    with FakeAPI(context_window=WINDOW) as server:
        yield server


# --- the estimate, the table, the split ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        *(path.read_text() for path in EXAMPLES),
        prompt.SYSTEM_PROMPT,
        json.dumps(prompt.analysis_schema()),
        "Ich bin gestern zum Markt gegangen, und es war sehr schön. Très bien, ça va ?",
        "我昨天去了市场，买了很多苹果。非常好！",
        "Call 0800 123 4567 at 10:30 on 2026-01-03 — ok?\n\nYes!!",
    ],
)
def test_estimate_errs_high(text: str) -> None:
    words = len(text.split())
    assert estimate_tokens(text) >= request_tokens({"t": text}) - 2  # the fake API's count of the same text
    assert estimate_tokens(text) >= 1.3 * words  # what real tokenizers average on English prose


def test_english_estimate_is_conservative_but_not_wild() -> None:
    for path in EXAMPLES:
        text = path.read_text()
        assert 1.5 < estimate_tokens(text) / len(text.split()) < 2.2


def test_context_table_prefix_overrides_and_default(caplog: pytest.LogCaptureFixture) -> None:
    table = context_table({"my-model": 8_000, "gpt-4o-mini": 100_000})
    assert context_window("claude-haiku-4-5-20251001", table) == 200_000
    assert context_window("gpt-4o-2024-08-06", table) == 128_000
    assert context_window("gpt-4o-mini-2024-07-18", table) == 100_000  # overridden, longest prefix wins
    assert context_window("my-model", table) == 8_000
    assert context_window("some-local-model", table) == DEFAULT_CONTEXT_TOKENS
    assert "CONTEXT_WINDOWS_JSON" in caplog.text
    for bad in (0, -5, "128k", 1.5, True):
        with pytest.raises(ValueError, match="positive number of tokens"):
            context_table({"m": bad})


def test_context_windows_json_reaches_the_analyzer_and_rejects_typos() -> None:
    settings = Settings.from_env({"CONTEXT_WINDOWS_JSON": '{"claude-haiku-4-5": 50000}'})
    assert build_analyzer(settings, "sk-ant-key", None).context_window == 50_000
    assert build_analyzer(Settings(), None, "sk-key").context_window == 128_000  # gpt-4o-mini's default
    for raw, message in [
        ("{50000", "not valid JSON"),
        ("[1]", "must be an object"),
        ('{"m": 0}', "positive"),
    ]:
        with pytest.raises(ConfigError, match=f"CONTEXT_WINDOWS_JSON.*{message}"):
            build_analyzer(Settings.from_env({"CONTEXT_WINDOWS_JSON": raw}), "sk-ant-key", None)


def test_split_cuts_at_sentence_ends_into_even_parts_that_fit() -> None:
    text = long_text(3_000)
    limit = estimate_tokens(text) // 3 + 50
    parts = split_to_fit(text, limit)
    assert len(parts) == 3
    assert all(part in text and estimate_tokens(part) <= limit for part in parts)
    assert all(part.endswith("good.") for part in parts)  # whole sentences
    assert " ".join(parts) == text  # nothing lost, nothing repeated, in order
    sizes = [estimate_tokens(part) for part in parts]
    assert max(sizes) - min(sizes) < 60  # balanced: no runt last part


@pytest.mark.parametrize(
    "text",
    ["no punctuation at all " * 500, "x" * 5_000, "長い" * 2_000, "short. " + "y" * 900 + " end."],
)
def test_split_without_sentence_ends_still_fits(text: str) -> None:
    parts = split_to_fit(text, 300)
    assert all(part in text and estimate_tokens(part) <= 300 for part in parts)
    assert re.sub(r"\s", "", "".join(parts)) == re.sub(r"\s", "", text)


# --- chunked analysis against the fake API ---------------------------------------------------------


@pytest.mark.parametrize("kind", ANALYZERS)
def test_transcript_over_the_window_is_analysed_in_parts_and_merged(kind: str, small_fake: FakeAPI) -> None:
    provider = windowed(kind, small_fake)
    budget = provider.transcript_budget("en")
    text = budgets(provider, 2.5)
    parts = split_to_fit(text, budget)
    result = provider.analyze(text, language="en")

    calls = small_fake.calls
    assert len(calls) == len(parts) == 3 and result.usage.calls == 3
    assert all(c["status"] == 200 for c in calls)
    assert max(c["tokens"] for c in calls) <= WINDOW
    analysis = result.analysis
    tense = next(i for i in analysis.insights if i.pattern_id == "grammar.verb_tense")
    assert (tense.frequency, tense.severity) == (3 * 2, "high")  # summed over parts, highest severity
    assert len(tense.examples) == 3 and all(example in text for example in tense.examples)
    assert [tense.examples[i] in parts[i] for i in range(3)] == [True] * 3  # one quote from each part
    assert analysis.insights[0] is tense  # ranked by frequency x severity weight
    assert "3 parts" in analysis.summary and analysis.focus_next == "Past simple for finished events."
    assert result.usage.input_tokens > 0 and result.usage.cost_usd > 0


@pytest.mark.parametrize("kind", ANALYZERS)
def test_a_repair_inside_a_part_also_fits(kind: str, small_fake: FakeAPI) -> None:
    provider = windowed(kind, small_fake)
    text = budgets(provider, 1.5)
    small_fake.push("invalid_json")
    result = provider.analyze(text, language="en")
    assert [c["status"] for c in small_fake.calls] == [200, 200, 200] and result.usage.calls == 3
    assert max(c["tokens"] for c in small_fake.calls) <= WINDOW


@pytest.mark.parametrize("kind", ANALYZERS)
def test_the_fake_rejects_what_does_not_fit_like_the_real_api(kind: str, small_fake: FakeAPI) -> None:
    provider = windowed(kind, small_fake, window=10 * WINDOW)  # configured larger than the real window
    with pytest.raises(PermanentError, match="context window .*CONTEXT_WINDOWS_JSON"):
        provider.analyze(long_text(12_002), language="en")
    assert [c["status"] for c in small_fake.calls] == [400]


@pytest.mark.parametrize("kind", ANALYZERS)
def test_too_many_parts_fails_before_any_call_with_the_numbers(kind: str, small_fake: FakeAPI) -> None:
    provider = windowed(kind, small_fake, max_parts=2)
    with pytest.raises(PermanentError, match=r"about \d+ tokens .*need 3 requests; at most 2"):
        provider.analyze(budgets(provider, 2.5), language="en")
    assert small_fake.calls == []


@pytest.mark.parametrize("kind", ANALYZERS)
def test_a_window_too_small_for_the_prompt_fails_before_any_call(kind: str, small_fake: FakeAPI) -> None:
    provider = windowed(kind, small_fake, window=8_200)  # the prompt and schema take ~7,600
    with pytest.raises(
        PermanentError, match=r"context window of .*\(8200 tokens\) leaves \d+ for the transcript"
    ):
        provider.analyze(long_text(1_000), language="en")
    assert small_fake.calls == []
    provider.analyze("I go home yesterday.", language="en")  # what fits is still sent
    assert [c["status"] for c in small_fake.calls] == [200]


@pytest.mark.parametrize(("kind", "window", "parts"), [("openai", 128_000, 3), ("anthropic", 200_000, 2)])
def test_a_200k_word_transcript_with_the_default_models(kind: str, window: int, parts: int) -> None:
    """gpt-4o-mini (128k) and Claude Haiku 4.5 (200k) with their default table entries and max_tokens."""
    text = long_text(200_000)
    with FakeAPI(context_window=window) as fake:
        provider = analyzer(kind, fake)
        assert provider.context_window == window
        result = provider.analyze(text, language="en")
    assert parts == math.ceil(estimate_tokens(text) / provider.transcript_budget("en"))  # as few as fit
    assert [c["status"] for c in fake.calls] == [200] * parts and result.usage.calls == parts
    assert max(c["tokens"] for c in fake.calls) <= window
    assert all(e in text for i in result.analysis.insights for e in i.examples)


# --- the stage: a retry pays only for the parts not yet done ----------------------------------------


def test_stage_retry_after_a_failed_part_pays_only_for_the_rest(
    services: Services, uploads_dir: Path, small_fake: FakeAPI
) -> None:
    provider = windowed("openai", small_fake)
    text = budgets(provider, 2.5)
    services = replace(services, analyzer=provider)
    add_session(uploads_dir, "ana", "long", text=text)
    transcribe_session(services, "long")
    small_fake.push("ok", "500", "500")  # part 2 fails, after the SDK's one retry
    with pytest.raises(TransientError):
        analyze_session(services, "long")
    document = analyze_session(services, "long")
    assert small_fake.paid_calls == 3 and document.usage.calls == 3
    assert all(e in text for i in document.analysis.insights for e in i.examples)
    analyze_session(services, "long")  # re-execution: the whole analysis is memoized
    assert small_fake.paid_calls == 3
