"""Decode, measure and chunk uploaded audio with PyAV (the wheel ships its own FFmpeg).

Every provider gets the same input: mono 16-bit PCM at 16 kHz, the rate speech models are trained
on. Decoding once here means a file a learner uploads either works for every provider or fails
early with one message telling them what to upload instead; no raw FFmpeg error reaches a user.
"""

from __future__ import annotations

import io
import itertools
import logging
import wave
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pipeline.domain.errors import PermanentError
from pipeline.providers.speech_to_text.headers import header_seconds

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
DEFAULT_MAX_SECONDS = 2 * 60 * 60  # a speaking session is minutes long; hours means a wrong file
SUPPORTED_FORMATS = "wav, flac, ogg, webm, mp3 or m4a"
_SILENCE_FRAME_SECONDS = 0.03  # ~ one phone: short enough to find the gaps between words
_SILENCE_SEARCH_FRACTION = 0.25  # look for a cut only in the last quarter so chunks stay long

Samples = npt.NDArray[np.int16]


def _describe(path: Path, session_id: str | None) -> str:
    return f"{path.name} of session {session_id}" if session_id else f"{path.name} of this session"


class PcmStream:
    """A file decoded block by block to mono int16 samples at 16 kHz, never held whole.

    Iterate it once. ``declared_seconds`` (what the container's header says, if anything) is known
    once iteration has started and ``decoded_samples`` counts what really decoded, so a caller can
    tell a truncated upload (declared far longer than decoded) from a short one. Raises
    PermanentError for a missing, empty, undecodable, audio-less or over-long file: the same bytes
    will fail the same way on a retry, so the message says what the uploader should do.
    """

    def __init__(
        self, path: Path, *, max_seconds: float = DEFAULT_MAX_SECONDS, session_id: str | None = None
    ) -> None:
        self.path = path
        self.max_seconds = max_seconds
        self.session_id = session_id
        self.declared_seconds: float | None = None
        self.decoded_samples = 0

    @property
    def decoded_seconds(self) -> float:
        return self.decoded_samples / SAMPLE_RATE

    def _fail(self, message: str) -> PermanentError:
        return PermanentError(message, session_id=self.session_id)

    def __iter__(self) -> Iterator[Samples]:
        import av  # here, not at import: PyAV loads FFmpeg, which a run without audio never needs

        what = _describe(self.path, self.session_id)
        advice = f"upload a {SUPPORTED_FORMATS} file"
        try:
            size = self.path.stat().st_size
        except FileNotFoundError as exc:
            raise self._fail(f"{what} no longer exists; upload it again") from exc
        if size == 0:
            raise self._fail(f"{what} is empty (0 bytes): {advice}")
        max_samples = int(self.max_seconds * SAMPLE_RATE)
        limit = (
            f"{self.max_seconds / 60:.0f} minutes"
            if self.max_seconds >= 120
            else f"{self.max_seconds:g} seconds"
        )
        too_long = f"{what} is longer than the limit of {limit}; upload a shorter recording"
        try:
            with av.open(str(self.path), mode="r") as container:
                if not container.streams.audio:
                    raise self._fail(f"{what} contains no audio track: {advice}")
                stream = container.streams.audio[0]
                # The recorder's own header first: FFmpeg derives a WAV's duration from its size.
                self.declared_seconds = header_seconds(self.path)
                if self.declared_seconds is None and container.duration is not None:
                    self.declared_seconds = container.duration / av.time_base
                elif self.declared_seconds is None and stream.duration is not None and stream.time_base:
                    self.declared_seconds = float(stream.duration * stream.time_base)
                # Fail before decoding when the header already declares an over-long recording.
                if self.declared_seconds is not None and self.declared_seconds > self.max_seconds:
                    raise self._fail(too_long)
                resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
                # A trailing None flushes the resampler's buffer; decoding stays streamed, frame by frame.
                for frame in itertools.chain(container.decode(stream), [None]):
                    for out in resampler.resample(frame):
                        pcm = out.to_ndarray().reshape(-1).astype(np.int16, copy=False)
                        self.decoded_samples += pcm.size
                        if self.decoded_samples > max_samples:  # headers can lie: count what decodes
                            raise self._fail(too_long)
                        yield pcm
        except (av.FFmpegError, ValueError) as exc:
            # strerror, not str(exc): the latter embeds the local temporary path, useless to an uploader.
            reason = getattr(exc, "strerror", None) or str(exc)
            raise self._fail(f"{what} could not be decoded ({reason}): {advice}") from exc
        if self.decoded_samples == 0:
            raise self._fail(f"{what} decoded to no audio samples: {advice}")
        logger.debug("decoded %s: %.2f s of audio", self.path.name, self.decoded_seconds)


def decode_pcm16k(
    path: Path, *, max_seconds: float = DEFAULT_MAX_SECONDS, session_id: str | None = None
) -> Samples:
    """Decode any supported file to mono int16 samples at 16 kHz, all in memory (see PcmStream)."""
    return np.concatenate(list(PcmStream(path, max_seconds=max_seconds, session_id=session_id)))


def windows(blocks: Iterable[Samples], rate: int, max_seconds: float) -> Iterator[tuple[int, Samples]]:
    """``(first sample index, window)`` pairs covering ``blocks``, each window at most ``max_seconds``.

    Windows are cut at the quietest ~30 ms of their last quarter (as ``split_at_silence`` does), so
    a recognizer working window by window rarely gets a word cut in two, and memory stays at one
    window plus one decoded block whatever the recording's length.
    """
    max_len = int(max_seconds * rate)
    pending: list[Samples] = []
    buffered = offset = 0
    for block in blocks:
        pending.append(block)
        buffered += block.size
        while buffered > max_len:
            buffer = np.concatenate(pending)
            cut = split_at_silence(buffer, rate, max_seconds)[0][1]
            yield offset, buffer[:cut].copy()  # a copy, so the rest of the buffer can be freed
            offset += cut
            pending, buffered = [buffer[cut:].copy()], buffer.size - cut
    if buffered:
        yield offset, np.concatenate(pending)


def duration_seconds(samples: npt.NDArray[np.generic], rate: int = SAMPLE_RATE) -> float:
    """Length of decoded audio: measured locally so results never depend on a provider's say-so."""
    return len(samples) / rate


def split_at_silence(
    samples: npt.NDArray[np.generic], rate: int, max_seconds: float
) -> list[tuple[int, int]]:
    """Chunk boundaries ``[(start, end), ...]`` covering ``samples``, each at most ``max_seconds`` long.

    Each cut falls in the middle of the quietest ~30 ms frame of the last quarter of its window, so
    a cloud API with an upload limit (or a recognizer working utterance by utterance) never receives
    a word cut in two when there is a pause nearby.
    """
    if rate <= 0 or max_seconds <= 0:
        raise ValueError("rate and max_seconds must be positive")
    n = len(samples)
    max_len = int(max_seconds * rate)
    frame = max(1, int(_SILENCE_FRAME_SECONDS * rate))
    if max_len < 2 * frame:
        raise ValueError(f"max_seconds={max_seconds} is too short to search for silence")
    bounds: list[tuple[int, int]] = []
    start = 0
    while n - start > max_len:
        search_from = start + int(max_len * (1 - _SILENCE_SEARCH_FRACTION))
        search_to = start + max_len
        frames = (search_to - search_from) // frame
        region = np.asarray(samples[search_from : search_from + frames * frame], dtype=np.float64)
        energy = np.mean(region.reshape(frames, frame) ** 2, axis=1)
        cut = search_from + int(np.argmin(energy)) * frame + frame // 2
        bounds.append((start, cut))
        start = cut
    if n > start:
        bounds.append((start, n))
    return bounds


def encode_wav(samples: npt.NDArray[np.generic], rate: int = SAMPLE_RATE) -> bytes:
    """16-bit mono PCM WAV bytes: the one format every speech API accepts, for sending chunks."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return buffer.getvalue()
