"""OpenAI speech-to-text (``audio.transcriptions.create``), with local chunking past the upload limit.

The API takes at most 25 MB per file. Short uploads in a format the API reads are sent as they are;
anything else is decoded locally (PyAV) and sent as 16 kHz mono WAV chunks cut at silences, whose
texts are joined in order. Duration is always measured locally, so cost does not depend on what
the provider reports. Given a ``ChunkCache``, each chunk's text is stored as soon as it is paid
for (keyed by the chunk's bytes, model and language hint: the same audio always cuts the same
way), so a retry after a failure on chunk k pays only for chunks k onwards.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.domain.errors import PermanentError
from pipeline.domain.models import UsageCost
from pipeline.domain.progress import count_line, log_step
from pipeline.domain.quality import summarise
from pipeline.providers.cloud_clients import CloudProvider
from pipeline.providers.cloud_errors import OPENAI
from pipeline.providers.memo import ChunkCache, chunk_key
from pipeline.providers.pricing import estimate_cost
from pipeline.providers.speech_to_text import audio as codec
from pipeline.providers.speech_to_text.base import SpeechResult

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
WAV_BYTES_PER_SECOND = codec.SAMPLE_RATE * 2  # mono, 16-bit
#: Formats sent without re-encoding (the API's list; the rest are decoded and sent as WAV).
API_FORMATS = {".flac", ".mp3", ".mp4", ".mpeg", ".mpga", ".m4a", ".ogg", ".wav", ".webm"}


def language_hint(language: str) -> str | None:
    """The ISO-639-1 code the API wants (``en-US`` -> ``en``), or None when there is none to give."""
    primary = language.replace("_", "-").split("-", 1)[0].lower()
    return primary if len(primary) == 2 and primary.isalpha() else None


class OpenAISpeechToText(CloudProvider):
    """``SpeechToText`` backed by the OpenAI transcription endpoint."""

    vendor = OPENAI
    name = "openai"

    def __init__(
        self,
        *,
        model: str = "gpt-4o-mini-transcribe",
        timeout_seconds: float = 120.0,
        max_chunk_seconds: float = 600.0,
        max_audio_seconds: float | None = None,
        **common: Any,
    ) -> None:
        # A chunk must stay under the upload limit once encoded as WAV (600 s is about 19 MB).
        limit = (MAX_UPLOAD_BYTES - 1024) / WAV_BYTES_PER_SECOND
        if not 0 < max_chunk_seconds <= limit:
            raise ValueError(f"max_chunk_seconds must be in (0, {limit:.0f}] to fit the 25 MB upload limit")
        super().__init__(model=model, timeout_seconds=timeout_seconds, **common)
        self._max_chunk_seconds = max_chunk_seconds
        self._max_audio_seconds = max_audio_seconds

    def transcribe(
        self, audio: Path, *, language: str, chunk_cache: ChunkCache | None = None
    ) -> SpeechResult:
        self._api.prepare()
        started = time.monotonic()
        stream = codec.PcmStream(audio, max_seconds=self._max_audio_seconds or codec.DEFAULT_MAX_SECONDS)
        samples = np.concatenate(list(stream))
        duration = codec.duration_seconds(samples, codec.SAMPLE_RATE)
        pieces = self._plan(audio, samples, duration)
        hint = language_hint(language)
        # A single piece is the whole file, which the stage memoizes already.
        cache = chunk_cache if len(pieces) > 1 else None
        texts: list[str] = []
        input_tokens = output_tokens = reused = 0
        for index, (filename, load) in enumerate(pieces, start=1):
            payload = load()  # encoded one at a time: a long recording never sits in memory as WAV
            if len(pieces) > 1:
                log_step(
                    logger, audio.name, f"{count_line('chunk', index, len(pieces))} ({len(payload)} bytes)"
                )
            text, tokens_in, tokens_out, cached = self._piece(filename, payload, hint, cache)
            reused += cached
            texts.append(text.strip())
            input_tokens += tokens_in
            output_tokens += tokens_out
        usage = UsageCost(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            audio_seconds=duration,
            cost_usd=estimate_cost(
                self.model, provider=self.name, audio_seconds=duration, prices=self._prices
            ),
            latency_seconds=time.monotonic() - started,
            calls=len(pieces),
        )
        logger.info(
            "transcribed %.1f s of audio with %s in %d request(s) (%d reused from earlier attempts), %.2f s",
            duration,
            self.model,
            len(pieces) - reused,
            reused,
            usage.latency_seconds,
        )
        # No segments (the json format has none), but a truncated upload is flagged like offline.
        quality = summarise(
            (), decoded_seconds=duration, declared_seconds=stream.declared_seconds, speech_seconds=None
        )
        return SpeechResult(
            text=" ".join(t for t in texts if t), duration_seconds=duration, usage=usage, quality=quality
        )

    def _plan(
        self, path: Path, samples: codec.Samples, duration: float
    ) -> list[tuple[str, Callable[[], bytes]]]:
        """What to upload: the file itself when the API can take it whole, else WAV chunks."""
        suffix = path.suffix.lower()
        if (
            suffix in API_FORMATS
            and path.stat().st_size <= MAX_UPLOAD_BYTES
            and duration <= self._max_chunk_seconds
        ):
            return [(f"audio{suffix}", path.read_bytes)]
        bounds = codec.split_at_silence(samples, codec.SAMPLE_RATE, self._max_chunk_seconds)
        return [
            (f"chunk-{i:03d}.wav", partial(codec.encode_wav, samples[start:end], codec.SAMPLE_RATE))
            for i, (start, end) in enumerate(bounds)
        ]

    def _piece(
        self, filename: str, payload: bytes, hint: str | None, cache: ChunkCache | None
    ) -> tuple[str, int, int, bool]:
        """(text, input tokens, output tokens, reused) of one piece: from ``cache``, else paid for and stored."""
        if cache is None:
            return (*self._request(filename, payload, hint), False)
        key = chunk_key(payload, self.name, self.model, hint or "")
        stored = cache.get(key)
        stored = stored if isinstance(stored, dict) else {}  # a damaged entry is a miss, not an error
        text, tokens_in, tokens_out = (stored.get(k) for k in ("text", "input_tokens", "output_tokens"))
        if isinstance(text, str) and isinstance(tokens_in, int) and isinstance(tokens_out, int):
            return text, tokens_in, tokens_out, True
        text, tokens_in, tokens_out = self._request(filename, payload, hint)
        cache.put(key, {"text": text, "input_tokens": tokens_in, "output_tokens": tokens_out})
        return text, tokens_in, tokens_out, False

    def _request(self, filename: str, payload: bytes, hint: str | None) -> tuple[str, int, int]:
        extra: dict[str, Any] = {"language": hint} if hint else {}
        # Bytes (not a file object) so the SDK can replay the body on its own retries.
        result = self._api.call(
            lambda client: client.audio.transcriptions.create(
                model=self.model, file=(filename, payload), response_format="json", **extra
            )
        )
        usage = getattr(result, "usage", None)
        tokens_in = int(getattr(usage, "input_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "output_tokens", 0) or 0)
        text = getattr(result, "text", None)
        if not isinstance(text, str):
            raise PermanentError(
                f"OpenAI returned no transcription text for {filename} (model {self.model!r})"
            )
        return text, tokens_in, tokens_out
