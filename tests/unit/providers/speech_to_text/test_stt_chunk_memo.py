"""Chunk-level memoization of OpenAI speech-to-text: a retry after a failure on chunk k pays only for chunks k.."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipeline.domain.errors import TransientError
from pipeline.providers.memo import Memo
from pipeline.providers.speech_to_text.openai_stt import OpenAISpeechToText
from pipeline.stages.services import Services
from pipeline.stages.transcript import transcribe_session
from pipeline.storage import LocalStorage
from tests.support.fake_api import FakeAPI
from tests.support.sessions import AUDIO, add_session

SPEECH = AUDIO / "speech.wav"  # 5.7 s: four chunks of at most 2 s
FAIL_AT = 3  # the chunk whose request fails, after the SDK's own retry


class DictCache:
    """The smallest ChunkCache: a dict, and a count of what was reused."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self.hits = 0

    def get(self, key: str) -> dict[str, Any] | None:
        found = self.entries.get(key)
        self.hits += found is not None
        return found

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.entries[key] = value


def stt(fake: FakeAPI, **options: Any) -> OpenAISpeechToText:
    settings: dict[str, Any] = {"max_retries": 1, "max_chunk_seconds": 2.0, **options}
    return OpenAISpeechToText(api_key="sk-test-key", base_url=fake.openai_base_url, **settings)


def fail_at_chunk(fake: FakeAPI, k: int) -> None:
    """Chunks 1..k-1 succeed, chunk k fails twice (the first attempt and the SDK's one retry)."""
    fake.push(*["ok"] * (k - 1), "500", "500")


def test_retry_of_the_stage_pays_only_for_the_chunks_not_yet_done(
    services: Services, uploads_dir: Path, fake: FakeAPI
) -> None:
    services = replace(services, speech_to_text=stt(fake))
    add_session(uploads_dir, "ana", "long", audio="speech.wav")
    fail_at_chunk(fake, FAIL_AT)
    with pytest.raises(TransientError, match="unavailable"):
        transcribe_session(services, "long")
    assert fake.paid_calls == FAIL_AT - 1

    transcript = transcribe_session(services, "long")  # the step's retry
    chunks = transcript.usage.calls
    assert chunks == 4
    assert fake.paid_calls == chunks, "each chunk paid for exactly once over both attempts"
    names = [c["request"]["file"]["filename"] for c in fake.calls if c["paid"]]
    assert names == [f"chunk-{i:03d}.wav" for i in range(chunks)]
    # The fake numbers its answers: chunks 1-2 from the first attempt, 3-4 from the retry, in order.
    assert transcript.text == " ".join(f"part {i}" for i in range(1, chunks + 1))
    assert transcript.usage.cost_usd > 0 and transcript.usage.input_tokens > 0
    assert len(list(services.results.list("_memo/transcript_chunks/"))) == chunks

    transcribe_session(services, "long")  # a re-execution: the whole-file memo answers, nothing paid
    assert fake.paid_calls == chunks


def test_without_a_cache_the_retry_pays_for_every_chunk_again(fake: FakeAPI) -> None:
    provider = stt(fake)
    fail_at_chunk(fake, FAIL_AT)
    with pytest.raises(TransientError):
        provider.transcribe(SPEECH, language="en")
    result = provider.transcribe(SPEECH, language="en")
    assert result.usage.calls == 4
    assert fake.paid_calls == (FAIL_AT - 1) + 4  # the provider stays usable without the seam


def test_cache_key_covers_model_and_language_hint(fake: FakeAPI) -> None:
    cache = DictCache()
    stt(fake).transcribe(SPEECH, language="en-US", chunk_cache=cache)
    assert (fake.paid_calls, len(cache.entries)) == (4, 4)
    stt(fake).transcribe(SPEECH, language="en_GB", chunk_cache=cache)  # same hint "en": all reused
    assert (fake.paid_calls, cache.hits) == (4, 4)
    stt(fake).transcribe(SPEECH, language="fr", chunk_cache=cache)
    stt(fake, model="whisper-1").transcribe(SPEECH, language="en", chunk_cache=cache)
    assert (fake.paid_calls, len(cache.entries)) == (12, 12)


def test_a_damaged_cache_entry_is_paid_for_again(fake: FakeAPI) -> None:
    cache = DictCache()
    stt(fake).transcribe(SPEECH, language="en", chunk_cache=cache)
    first = next(iter(cache.entries))
    cache.entries[first] = {"text": 3}
    result = stt(fake).transcribe(SPEECH, language="en", chunk_cache=cache)
    assert fake.paid_calls == 5 and result.text.startswith("part 5 ")


def test_a_file_sent_whole_is_not_cached_per_chunk(fake: FakeAPI) -> None:
    cache = DictCache()
    stt(fake, max_chunk_seconds=600.0).transcribe(SPEECH, language="en", chunk_cache=cache)
    assert fake.paid_calls == 1 and cache.entries == {}  # the stage's whole-file memo covers it


@pytest.mark.parametrize(("cached", "paid"), [(True, 24), (False, 19 + 24)])
def test_the_issues_case_chunk_20_of_24(cached: bool, paid: int, fake: FakeAPI, tmp_path: Path) -> None:
    provider = stt(fake, max_chunk_seconds=0.285)  # cuts the 5.7 s fixture into 24 chunks
    cache = Memo(LocalStorage(tmp_path)).stage("transcript_chunks") if cached else None
    fail_at_chunk(fake, 20)
    with pytest.raises(TransientError):
        provider.transcribe(SPEECH, language="en", chunk_cache=cache)
    assert provider.transcribe(SPEECH, language="en", chunk_cache=cache).usage.calls == 24
    assert fake.paid_calls == paid
