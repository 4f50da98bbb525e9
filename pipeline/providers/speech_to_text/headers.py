"""What an audio file's own header claims its length is, read without FFmpeg.

FFmpeg infers a WAV's duration from the file's size, so a WAV cut off mid-copy "declares" exactly
what decodes and truncation goes unnoticed. The RIFF header's ``data`` chunk size (and FLAC's
STREAMINFO total samples) were written by the recorder for the whole recording: comparing them
with what decodes tells a truncated upload from a short one.
"""

from __future__ import annotations

import struct
from pathlib import Path

_UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # streaming writers leave the size unset


def header_seconds(path: Path) -> float | None:
    """The length the file's header declares (WAV, FLAC), or None when it declares none."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _wav_seconds(head)
    if head[:4] == b"fLaC":
        return _flac_seconds(head)
    return None


def _wav_seconds(head: bytes) -> float | None:
    byte_rate = data_size = None
    offset = 12
    while offset + 8 <= len(head):
        chunk, size = head[offset : offset + 4], struct.unpack_from("<I", head, offset + 4)[0]
        if chunk == b"fmt " and offset + 20 <= len(head):
            byte_rate = struct.unpack_from("<I", head, offset + 16)[0]
        elif chunk == b"data":
            data_size = size
            break
        offset += 8 + size + (size & 1)  # chunks are word-aligned
    if not byte_rate or data_size is None or data_size in _UNKNOWN_SIZES:
        return None
    return float(data_size / byte_rate)


def _flac_seconds(head: bytes) -> float | None:
    if len(head) < 8 + 18 or head[4] & 0x7F != 0:  # the first metadata block is STREAMINFO
        return None
    info = head[8 : 8 + 18]
    packed = int.from_bytes(info[10:18], "big")  # rate 20 bits, channels 3, depth 5, samples 36
    rate, total = packed >> 44, packed & ((1 << 36) - 1)
    if not rate or not total:
        return None
    return float(total / rate)
