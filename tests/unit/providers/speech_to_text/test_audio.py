"""pipeline.providers.speech_to_text.audio: decoding every upload format to 16 kHz mono, streaming in windows, rejecting bad files, chunking, WAV."""

from __future__ import annotations

import io
import tracemalloc
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from pipeline.domain.errors import PermanentError
from pipeline.intake.contract import AUDIO_EXTENSIONS
from pipeline.providers.speech_to_text.audio import (
    SAMPLE_RATE,
    SUPPORTED_FORMATS,
    PcmStream,
    decode_pcm16k,
    duration_seconds,
    encode_wav,
    split_at_silence,
    windows,
)

FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "audio"


def tone(seconds: float, rate: int = SAMPLE_RATE, freq: float = 440.0, amplitude: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def wav_seconds() -> float:
    with wave.open(str(FIXTURES / "speech.wav")) as f:
        return f.getnframes() / f.getframerate()


@pytest.mark.parametrize("ext", AUDIO_EXTENSIONS)
def test_every_upload_format_decodes_to_16k_mono_of_the_same_length(ext: str, wav_seconds: float) -> None:
    samples = decode_pcm16k(FIXTURES / f"speech.{ext}")
    assert samples.dtype == np.int16
    assert samples.ndim == 1
    assert duration_seconds(samples) == pytest.approx(wav_seconds, abs=0.2)
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 300  # speech, not silence


def test_resamples_and_downmixes_to_16k_mono(tmp_path: Path) -> None:
    left = tone(1.0, rate=44_100, freq=440.0)
    stereo = np.column_stack([left, left]).reshape(-1)  # interleaved L R
    samples = decode_pcm16k(write_wav(tmp_path / "audio.wav", stereo, 44_100, channels=2))
    assert abs(len(samples) - SAMPLE_RATE) < 50
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / len(samples)
    assert peak_hz == pytest.approx(440, abs=3)  # a wrong output rate would move the peak


def assert_actionable(exc: pytest.ExceptionInfo[PermanentError], name: str) -> None:
    assert name in exc.value.message
    assert SUPPORTED_FORMATS in exc.value.message


def test_garbage_with_a_wav_name_is_permanent_with_name_and_formats() -> None:
    with pytest.raises(PermanentError) as exc:
        decode_pcm16k(FIXTURES / "corrupt.wav")
    assert_actionable(exc, "corrupt.wav")
    assert "could not be decoded" in exc.value.message
    assert str(FIXTURES) not in exc.value.message  # no local paths in a user-facing message
    assert isinstance(exc.value.__cause__, av.FFmpegError)


def test_truncated_m4a_is_permanent(tmp_path: Path) -> None:
    path = tmp_path / "audio.m4a"
    path.write_bytes((FIXTURES / "speech.m4a").read_bytes()[:3000])
    with pytest.raises(PermanentError) as exc:
        decode_pcm16k(path, session_id="s-1")
    assert_actionable(exc, "audio.m4a of session s-1")
    assert exc.value.session_id == "s-1"


def test_empty_file_is_permanent(tmp_path: Path) -> None:
    (tmp_path / "audio.mp3").write_bytes(b"")
    with pytest.raises(PermanentError, match="empty") as exc:
        decode_pcm16k(tmp_path / "audio.mp3")
    assert_actionable(exc, "audio.mp3")


def test_file_without_an_audio_stream_is_permanent(tmp_path: Path) -> None:
    path = tmp_path / "audio.ogg"  # a subtitle file that FFmpeg opens fine, but with no audio in it
    path.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    with pytest.raises(PermanentError, match="no audio track") as exc:
        decode_pcm16k(path)
    assert_actionable(exc, "audio.ogg")


def test_header_only_wav_is_permanent(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "audio.wav", np.zeros(0, dtype=np.int16), SAMPLE_RATE)
    with pytest.raises(PermanentError, match="no audio samples") as exc:
        decode_pcm16k(path)
    assert_actionable(exc, "audio.wav")


def test_missing_file_is_permanent(tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match="audio.webm .*no longer exists"):
        decode_pcm16k(tmp_path / "audio.webm")


def test_recording_over_the_duration_limit_is_permanent() -> None:
    with pytest.raises(PermanentError, match="longer than the limit of 3 seconds"):
        decode_pcm16k(FIXTURES / "speech.ogg", max_seconds=3)
    assert len(decode_pcm16k(FIXTURES / "speech.ogg", max_seconds=10)) > 0


def test_split_cuts_in_the_silent_gap() -> None:
    gap_start, gap_end = int(3.2 * SAMPLE_RATE), int(3.6 * SAMPLE_RATE)
    signal = np.concatenate([tone(3.2), np.zeros(gap_end - gap_start, dtype=np.int16), tone(2.4)])
    bounds = split_at_silence(signal, SAMPLE_RATE, max_seconds=4)
    assert len(bounds) == 2
    (first_start, cut), (second_start, end) = bounds
    assert (first_start, second_start, end) == (0, cut, len(signal))
    assert gap_start < cut < gap_end


def test_split_covers_everything_and_respects_the_maximum() -> None:
    rng = np.random.default_rng(7)
    signal = rng.integers(-6000, 6000, size=47 * SAMPLE_RATE, dtype=np.int16)  # no silence at all
    pause_starts = (8, 17, 25, 33)  # 200 ms pauses, each in the last quarter of a 10 s window
    for pause in pause_starts:
        signal[pause * SAMPLE_RATE : pause * SAMPLE_RATE + SAMPLE_RATE // 5] = 0
    bounds = split_at_silence(signal, SAMPLE_RATE, max_seconds=10)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(signal)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))
    assert all(0 < end - start <= 10 * SAMPLE_RATE for start, end in bounds)
    pauses = [range(p * SAMPLE_RATE, p * SAMPLE_RATE + SAMPLE_RATE // 5) for p in pause_starts]
    cuts = [end for _, end in bounds[:-1]]
    assert [any(cut in pause for pause in pauses) for cut in cuts] == [True, True, True, True, False]


def test_split_of_short_or_empty_audio() -> None:
    assert split_at_silence(tone(2.0), SAMPLE_RATE, max_seconds=4) == [(0, 2 * SAMPLE_RATE)]
    assert split_at_silence(np.zeros(0, dtype=np.int16), SAMPLE_RATE, max_seconds=4) == []
    with pytest.raises(ValueError):
        split_at_silence(tone(1.0), SAMPLE_RATE, max_seconds=0)


def test_encode_wav_round_trips(tmp_path: Path) -> None:
    samples = decode_pcm16k(FIXTURES / "speech.flac")
    data = encode_wav(samples, SAMPLE_RATE)
    with wave.open(io.BytesIO(data)) as back:
        assert (back.getnchannels(), back.getsampwidth(), back.getframerate()) == (1, 2, SAMPLE_RATE)
        assert np.array_equal(np.frombuffer(back.readframes(back.getnframes()), dtype="<i2"), samples)
    path = tmp_path / "chunk.wav"
    path.write_bytes(data)
    assert np.array_equal(decode_pcm16k(path), samples)


def test_windows_cover_the_decoded_audio_exactly_and_cut_in_pauses() -> None:
    stream = PcmStream(FIXTURES / "learner-market.webm")
    pieces = list(windows(stream, SAMPLE_RATE, max_seconds=4))
    assert [offset for offset, _ in pieces] == list(np.cumsum([0] + [len(w) for _, w in pieces[:-1]]))
    assert all(len(w) <= 4 * SAMPLE_RATE for _, w in pieces) and len(pieces) >= 4
    whole = decode_pcm16k(FIXTURES / "learner-market.webm")
    assert np.array_equal(np.concatenate([w for _, w in pieces]), whole)
    assert stream.decoded_samples == len(whole)
    assert stream.declared_seconds == pytest.approx(len(whole) / SAMPLE_RATE, abs=0.05)


def test_truncated_webm_declares_more_than_it_decodes() -> None:
    stream = PcmStream(FIXTURES / "truncated.webm")
    assert sum(len(block) for block in stream) == stream.decoded_samples
    assert stream.declared_seconds is not None and stream.decoded_seconds < 0.6 * stream.declared_seconds


def test_an_hour_streams_in_bounded_memory(tmp_path: Path) -> None:
    """Window by window, one hour (115 MB as 16 kHz int16) never sits in memory whole."""
    rate = 8_000  # a WAV the decoder reads quickly; resampled to 16 kHz like every upload
    path = tmp_path / "hour.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        minute = tone(60.0, rate=rate, freq=220.0).astype("<i2").tobytes()
        for _ in range(60):
            out.writeframes(minute)
    stream = PcmStream(path)
    tracemalloc.start()
    try:
        longest = count = 0
        for _, window in windows(stream, SAMPLE_RATE, max_seconds=90):
            longest, count = max(longest, len(window)), count + 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert stream.decoded_seconds == pytest.approx(3600, abs=1)
    assert longest <= 90 * SAMPLE_RATE and count >= 40
    whole = 3600 * SAMPLE_RATE * 2
    assert peak < 30e6, (
        f"peak {peak / 1e6:.0f} MB traced while streaming (the whole hour is {whole / 1e6:.0f} MB)"
    )
