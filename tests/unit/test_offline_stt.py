"""PocketsphinxSpeechToText on the committed espeak-ng fixtures: recognised words, language and silence errors, threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pipeline.errors import PermanentError
from pipeline.providers.speech_to_text.base import SpeechToText
from pipeline.providers.speech_to_text.offline import PocketsphinxSpeechToText, is_english

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
# Content words of "I go to the market yesterday and I buy many apple. It was very very good."
# pocketsphinx mishears the synthetic voice ("very" -> "really"), so only some must come through.
SPOKEN = {"go", "market", "yesterday", "buy", "many", "apple", "very", "good"}
SPEECH_SECONDS = 5.72


@pytest.fixture(scope="module")
def stt() -> PocketsphinxSpeechToText:
    return PocketsphinxSpeechToText()


def recognised(text: str) -> set[str]:
    return SPOKEN & set(text.lower().split())


@pytest.mark.parametrize("name", ["speech.wav", "speech.webm"])
def test_recognises_the_spoken_words(stt: PocketsphinxSpeechToText, name: str) -> None:
    result = stt.transcribe(FIXTURES / name, language="en")
    assert len(recognised(result.text)) >= 3, result.text
    assert result.duration_seconds == pytest.approx(SPEECH_SECONDS, abs=0.2)
    assert result.usage.audio_seconds == result.duration_seconds
    assert result.usage.calls == 0 and result.usage.cost_usd == 0


def test_satisfies_the_protocol(stt: PocketsphinxSpeechToText) -> None:
    provider: SpeechToText = stt
    assert (provider.name, provider.model) == ("pocketsphinx", "en-us")


def test_long_audio_is_recognised_segment_by_segment() -> None:
    segmented = PocketsphinxSpeechToText(segment_seconds=2.5)  # three segments of the 5.7 s fixture
    result = segmented.transcribe(FIXTURES / "speech.wav", language="en-US")
    assert len(recognised(result.text)) >= 3, result.text


def test_non_english_is_refused_before_decoding(stt: PocketsphinxSpeechToText) -> None:
    with pytest.raises(PermanentError, match="only supports English") as exc:
        stt.transcribe(FIXTURES / "does-not-exist.wav", language="fr")
    assert "STT_PROVIDER=openai" in exc.value.message


@pytest.mark.parametrize(
    ("language", "english"), [("en", True), ("EN-gb", True), ("en_US", True), ("es", False)]
)
def test_is_english(language: str, english: bool) -> None:
    assert is_english(language) is english


def test_silence_is_no_speech(stt: PocketsphinxSpeechToText) -> None:
    with pytest.raises(PermanentError, match="no speech recognised"):
        stt.transcribe(FIXTURES / "silence.wav", language="en")


def test_undecodable_audio_is_permanent(stt: PocketsphinxSpeechToText) -> None:
    with pytest.raises(PermanentError, match="corrupt.wav .*could not be decoded"):
        stt.transcribe(FIXTURES / "corrupt.wav", language="en")


def test_one_instance_is_safe_across_threads(stt: PocketsphinxSpeechToText) -> None:
    def transcribe(_: int) -> str:
        return stt.transcribe(FIXTURES / "speech.webm", language="en").text

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(transcribe, range(2))
    assert first == second  # interleaved use of one decoder would corrupt one or both
    assert len(recognised(first)) >= 3, first
