"""Offline speech-to-text with PocketSphinx and the US-English model bundled in its wheel.

It needs no key, no network and no download, so the demo, the tests and users without a cloud
account all get transcripts. It is far less accurate than a cloud model (it mishears some words,
especially of synthetic or accented speech); ``STT_PROVIDER=openai`` is the accurate choice.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from pipeline.audio import DEFAULT_MAX_SECONDS, SAMPLE_RATE, decode_pcm16k, duration_seconds, split_at_silence
from pipeline.errors import PermanentError
from pipeline.models import UsageCost
from pipeline.providers.speech_to_text.base import SpeechResult

logger = logging.getLogger(__name__)

# PocketSphinx normalises each utterance over its whole length; ~20 s keeps that estimate local
# and the search lattice small, and cuts at pauses keep words whole.
DEFAULT_SEGMENT_SECONDS = 20.0


def is_english(language: str) -> bool:
    """``en``, ``EN``, ``en-GB``, ``en_US``... are English; the bundled model knows nothing else."""
    return language.replace("_", "-").split("-", 1)[0].lower() == "en"


class PocketsphinxSpeechToText:
    """The offline :class:`~pipeline.providers.speech_to_text.base.SpeechToText`.

    The decoder takes a fraction of a second and ~100 MB to load, so it is built on first use and
    reused. It is not thread-safe: a lock serialises recognition (decoding the file runs outside it).
    """

    name = "pocketsphinx"
    model = "en-us"

    def __init__(
        self,
        *,
        segment_seconds: float = DEFAULT_SEGMENT_SECONDS,
        max_audio_seconds: float = DEFAULT_MAX_SECONDS,
    ) -> None:
        self.segment_seconds = segment_seconds
        self.max_audio_seconds = max_audio_seconds
        self._decoder: Any = None  # pocketsphinx.Decoder; the package ships no type information
        self._lock = threading.Lock()

    def transcribe(self, audio: Path, *, language: str) -> SpeechResult:
        """Recognise ``audio``; PermanentError for non-English, undecodable or speechless audio."""
        if not is_english(language):
            raise PermanentError(
                f"the offline recognizer (pocketsphinx) only supports English, but this session's language "
                f"is {language!r}; set STT_PROVIDER=openai to transcribe other languages"
            )
        samples = decode_pcm16k(audio, max_seconds=self.max_audio_seconds)
        duration = duration_seconds(samples)
        started = time.perf_counter()
        segments = split_at_silence(samples, SAMPLE_RATE, self.segment_seconds)
        with self._lock:
            texts = [self._recognise(samples[start:end]) for start, end in segments]
        text = " ".join(t for t in texts if t)
        elapsed = time.perf_counter() - started
        logger.info(
            "pocketsphinx: %.1f s of audio in %d segment(s), %d words, %.2f s",
            duration,
            len(segments),
            len(text.split()),
            elapsed,
        )
        logger.debug("pocketsphinx text: %s", text)
        if not text:
            raise PermanentError(
                f"no speech recognised in the audio ({duration:.1f} s): check that the recording has "
                "audible English speech, or set STT_PROVIDER=openai for a more sensitive recognizer"
            )
        return SpeechResult(
            text=text,
            duration_seconds=duration,
            usage=UsageCost(audio_seconds=duration, latency_seconds=round(elapsed, 3), calls=0),
        )

    def _recognise(self, segment: npt.NDArray[np.int16]) -> str:
        """One utterance -> its best hypothesis; the caller holds the lock."""
        decoder = self._get_decoder()
        try:
            decoder.start_utt()
            try:
                decoder.process_raw(segment.tobytes(), full_utt=True)
            finally:
                decoder.end_utt()  # an utterance left open would make every later start_utt fail
        except RuntimeError as exc:  # pocketsphinx's only failure signal; the same input fails again
            raise PermanentError(f"pocketsphinx could not process the audio ({exc})") from exc
        hypothesis = decoder.hyp()
        return hypothesis.hypstr.strip() if hypothesis is not None else ""

    def _get_decoder(self) -> Any:
        if self._decoder is None:
            # Imported here so that importing the providers package never loads the native library.
            import pocketsphinx

            try:
                # The default config points at the model inside the wheel (pocketsphinx.get_model_path()).
                self._decoder = pocketsphinx.Decoder(loglevel="ERROR")
            except (RuntimeError, ValueError) as exc:
                raise PermanentError(
                    f"the pocketsphinx model under {pocketsphinx.get_model_path()} could not be loaded "
                    f"({exc}); reinstall the pocketsphinx package"
                ) from exc
            logger.info("pocketsphinx decoder loaded from %s", pocketsphinx.get_model_path())
        return self._decoder
