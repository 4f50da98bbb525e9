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
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from pipeline.errors import PermanentError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
DEFAULT_MAX_SECONDS = 2 * 60 * 60  # a speaking session is minutes long; hours means a wrong file
SUPPORTED_FORMATS = "wav, flac, ogg, webm, mp3 or m4a"
_SILENCE_FRAME_SECONDS = 0.03  # ~ one phone: short enough to find the gaps between words
_SILENCE_SEARCH_FRACTION = 0.25  # look for a cut only in the last quarter so chunks stay long

Samples = npt.NDArray[np.int16]


def _describe(path: Path, session_id: str | None) -> str:
    return f"{path.name} of session {session_id}" if session_id else f"{path.name} of this session"


def decode_pcm16k(
    path: Path, *, max_seconds: float = DEFAULT_MAX_SECONDS, session_id: str | None = None
) -> Samples:
    """Decode any supported file to mono int16 samples at 16 kHz.

    Raises PermanentError for a missing, empty, undecodable, audio-less or over-long file: the same
    bytes will fail the same way on a retry, so the message says what the uploader should do.
    """
    what = _describe(path, session_id)
    advice = f"upload a {SUPPORTED_FORMATS} file"
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise PermanentError(f"{what} no longer exists; upload it again", session_id=session_id) from exc
    if size == 0:
        raise PermanentError(f"{what} is empty (0 bytes): {advice}", session_id=session_id)

    max_samples = int(max_seconds * SAMPLE_RATE)
    limit = f"{max_seconds / 60:.0f} minutes" if max_seconds >= 120 else f"{max_seconds:g} seconds"
    too_long = f"{what} is longer than the limit of {limit}; upload a shorter recording"
    chunks: list[Samples] = []
    total = 0
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                raise PermanentError(f"{what} contains no audio track: {advice}", session_id=session_id)
            stream = container.streams.audio[0]
            # Fail before decoding when the header already declares an over-long recording.
            if container.duration is not None and container.duration / av.time_base > max_seconds:
                raise PermanentError(too_long, session_id=session_id)
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            # A trailing None flushes the resampler's buffer; decoding stays streamed, frame by frame.
            for frame in itertools.chain(container.decode(stream), [None]):
                for out in resampler.resample(frame):
                    pcm = out.to_ndarray().reshape(-1).astype(np.int16, copy=False)
                    chunks.append(pcm)
                    total += pcm.size
                    if total > max_samples:  # headers can lie, so count what is really decoded
                        raise PermanentError(too_long, session_id=session_id)
    except (av.FFmpegError, ValueError) as exc:
        # strerror, not str(exc): the latter embeds the local temporary path, useless to an uploader.
        reason = getattr(exc, "strerror", None) or str(exc)
        raise PermanentError(
            f"{what} could not be decoded ({reason}): {advice}", session_id=session_id
        ) from exc
    if total == 0:
        raise PermanentError(f"{what} decoded to no audio samples: {advice}", session_id=session_id)
    samples = np.concatenate(chunks)
    logger.debug("decoded %s: %.2f s of audio", path.name, duration_seconds(samples))
    return samples


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
