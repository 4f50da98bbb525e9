"""Offline speech-to-text: Whisper on CTranslate2 (faster-whisper), tiny.en by default, no network.

It needs no key and no download (the default weights ship in a pinned, digest-checked package, see
``whisper_model``), so the demo, the tests and users who may not send voices to a cloud all get
usable transcripts. Two choices keep what a learner actually said, which is what this product
reports on: voice activity detection (Silero, shipped in the faster-whisper wheel) drops silences
Whisper would otherwise fill with invented text, and a disfluent, ungrammatical initial prompt
nudges the decoder to transcribe fillers and errors instead of correcting them. Each window is
decoded independently (``condition_on_previous_text=False``), so one misheard stretch cannot
steer the next. Audio is decoded and recognised window by window: memory does not grow with length.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.domain.errors import PermanentError
from pipeline.domain.models import TranscriptSegment, UsageCost
from pipeline.domain.progress import log_step, window_line
from pipeline.domain.quality import summarise
from pipeline.providers.speech_to_text.audio import DEFAULT_MAX_SECONDS, SAMPLE_RATE, PcmStream, windows
from pipeline.providers.speech_to_text.base import SpeechResult
from pipeline.providers.speech_to_text.whisper_model import DEFAULT_MODEL, resolve_model, verify_pinned

logger = logging.getLogger(__name__)

#: Seconds of audio recognised at a time: ~4 MB of float32, and long enough that cuts are rare.
DEFAULT_WINDOW_SECONDS = 90.0
#: Whisper continues in the style of its prompt: fillers, repetitions and learner grammar included.
LEARNER_PROMPT = (
    "Um, so, uh, I goes to the the market yesterday, and, like, we buy some... you know, more better."
)
#: Changes whenever the decoding options below do, so stored transcripts show as stale.
DECODE_VERSION = "d1"
DECODE_OPTIONS: dict[str, Any] = {
    "beam_size": 5,
    "temperature": 0.0,  # greedy-equivalent and deterministic: no sampling fallback that rewrites speech
    "condition_on_previous_text": False,
    "initial_prompt": LEARNER_PROMPT,
    "vad_filter": True,
    "vad_parameters": {"min_silence_duration_ms": 500},
}


def is_english(language: str) -> bool:
    """``en``, ``EN``, ``en-GB``, ``en_US``... are English."""
    return primary_language(language) == "en"


def primary_language(language: str) -> str:
    return language.replace("_", "-").split("-", 1)[0].lower()


class FasterWhisperSpeechToText:
    """The offline :class:`~pipeline.providers.speech_to_text.base.SpeechToText`.

    The model (~1 s and ~150 MB for tiny.en) is loaded on first use and reused; CTranslate2 models
    may be called from several threads, so only loading is serialised.
    """

    name = "faster-whisper"

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        device: str = "auto",
        compute_type: str = "auto",
        max_audio_seconds: float = DEFAULT_MAX_SECONDS,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        cpu_threads: int = 0,
    ) -> None:
        self.ref = resolve_model(model)
        self.model = self.ref.label
        self.device = device
        self.compute_type = compute_type
        self.max_audio_seconds = max_audio_seconds
        self.window_seconds = window_seconds
        self.cpu_threads = cpu_threads
        self._whisper: Any = None  # faster_whisper.WhisperModel, imported on first use
        self._lock = threading.Lock()

    def transcribe(self, audio: Path, *, language: str) -> SpeechResult:
        """Recognise ``audio`` window by window; PermanentError for unsupported languages or bad files."""
        whisper = self._get_model()
        if not whisper.model.is_multilingual and not is_english(language):
            raise PermanentError(
                f"the offline model {self.ref.name} only recognises English, but this session's language is "
                f"{language!r}; set OFFLINE_STT_MODEL to a multilingual model (e.g. small) or STT_PROVIDER=openai"
            )
        started = time.perf_counter()
        stream = PcmStream(audio, max_seconds=self.max_audio_seconds)
        segments: list[TranscriptSegment] = []
        speech_seconds = 0.0
        for index, (offset, window) in enumerate(windows(stream, SAMPLE_RATE, self.window_seconds), start=1):
            found, speech = self._recognise(whisper, window, offset / SAMPLE_RATE, primary_language(language))
            segments.extend(found)
            speech_seconds += speech
            end = (offset + len(window)) / SAMPLE_RATE
            log_step(
                logger, audio.name, window_line(index, self.window_seconds, end, stream.declared_seconds)
            )
        elapsed = time.perf_counter() - started
        duration = stream.decoded_seconds
        quality = summarise(
            segments,
            decoded_seconds=duration,
            declared_seconds=stream.declared_seconds,
            speech_seconds=speech_seconds,
        )
        text = " ".join(s.text for s in segments)
        logger.info(
            "faster-whisper %s: %.1f s of audio (%.0f%% speech) in %.2f s, %d segments, %d words%s",
            self.ref.name,
            duration,
            100 * (quality.speech_ratio or 0.0),
            elapsed,
            len(segments),
            len(text.split()),
            ", TRUNCATED upload" if quality.truncated else "",
        )
        return SpeechResult(
            text=text,
            duration_seconds=duration,
            usage=UsageCost(audio_seconds=duration, latency_seconds=round(elapsed, 3), calls=0),
            segments=tuple(segments),
            quality=quality,
        )

    def _recognise(
        self, whisper: Any, window: np.ndarray, offset: float, language: str
    ) -> tuple[list[TranscriptSegment], float]:
        """One window -> its segments (times in the whole recording) and seconds of speech VAD kept."""
        samples = window.astype(np.float32) / 32768.0
        pieces, info = whisper.transcribe(samples, language=language, **DECODE_OPTIONS)
        found = [
            TranscriptSegment(
                start=round(offset + piece.start, 2),
                end=round(offset + piece.end, 2),
                text=piece.text.strip(),
                avg_logprob=round(piece.avg_logprob, 4),
                no_speech_prob=round(piece.no_speech_prob, 4),
            )
            for piece in pieces  # a generator: decoding happens here
            if piece.text.strip()
        ]
        return found, float(info.duration_after_vad)

    def _get_model(self) -> Any:
        with self._lock:
            if self._whisper is None:
                self._whisper = self._load()
            return self._whisper

    def _load(self) -> Any:
        if self.ref.pinned:
            verify_pinned(self.ref.path / "model.bin")
        from faster_whisper import WhisperModel  # imported here: CTranslate2 and ONNX Runtime are heavy

        device = self.device
        if device == "auto":
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        compute_type = self.compute_type
        if compute_type == "auto":
            compute_type = "int8" if device == "cpu" else "float16"
        started = time.perf_counter()
        try:
            whisper = WhisperModel(
                str(self.ref.path),
                device=device,
                compute_type=compute_type,
                cpu_threads=self.cpu_threads,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise PermanentError(
                f"the Whisper model {self.ref.name} in {self.ref.path} could not be loaded on {device} "
                f"({compute_type}): {exc}; check OFFLINE_STT_MODEL, OFFLINE_STT_DEVICE and OFFLINE_STT_COMPUTE_TYPE"
            ) from exc
        logger.info(
            "loaded Whisper %s (%s, %s on %s) in %.2f s",
            self.ref.name,
            self.model,
            compute_type,
            device,
            time.perf_counter() - started,
        )
        return whisper
