"""A cut-off WAV or FLAC is flagged as truncated from its own header (issue 18 item 6)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.domain.quality import is_truncated
from pipeline.providers.speech_to_text.audio import PcmStream
from pipeline.providers.speech_to_text.headers import header_seconds

AUDIO = Path(__file__).resolve().parents[3] / "fixtures" / "audio"


def _decode(path: Path) -> PcmStream:
    stream = PcmStream(path)
    for _ in stream:
        pass
    return stream


@pytest.mark.parametrize("name", ["speech.wav", "speech.flac"])
def test_a_complete_file_declares_what_decodes(name: str) -> None:
    stream = _decode(AUDIO / name)
    assert stream.declared_seconds is not None
    assert abs(stream.declared_seconds - stream.decoded_seconds) < 0.1
    assert not is_truncated(stream.decoded_seconds, stream.declared_seconds)


@pytest.mark.parametrize("name", ["speech.wav"])  # a cut FLAC fails to decode mid-frame instead
def test_a_file_cut_off_mid_copy_is_truncated(tmp_path: Path, name: str) -> None:
    cut = tmp_path / name
    shutil.copy(AUDIO / name, cut)
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) // 3])
    full = header_seconds(AUDIO / name)
    stream = _decode(cut)
    assert stream.declared_seconds == full
    assert is_truncated(stream.decoded_seconds, stream.declared_seconds)


def test_a_streamed_wav_without_sizes_declares_nothing(tmp_path: Path) -> None:
    data = bytearray((AUDIO / "speech.wav").read_bytes())
    at = data.index(b"data")
    data[at + 4 : at + 8] = b"\xff\xff\xff\xff"
    path = tmp_path / "streamed.wav"
    path.write_bytes(bytes(data))
    assert header_seconds(path) is None
