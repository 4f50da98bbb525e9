"""Hostile manifests: every malformed ``session.json`` is a permanent failure, an empty one means defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.domain.errors import PermanentError, failure_kind
from pipeline.domain.models import SessionManifest
from pipeline.intake.contract import load_session, read_manifest
from pipeline.storage import LocalStorage


def _manifest(tmp_path: Path, body: bytes) -> SessionManifest:
    root = tmp_path / "uploads"
    (root / "ana" / "s1").mkdir(parents=True)
    (root / "ana" / "s1" / "transcript.txt").write_text("hello")
    (root / "ana" / "s1" / "session.json").write_bytes(body)
    storage = LocalStorage(str(root))
    upload = load_session(storage, "ana", "s1")
    assert upload is not None
    return read_manifest(storage, upload)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"[" * 30_000 + b"]" * 30_000, "nested too deeply"),
        (b'{"recorded_at": "' + b"x" * 70_000 + b'"}', "must be under"),
        (b"\xff\xfe{", "not valid JSON"),
        (b'{"recorded_at": ["tomorrow"]}', "invalid"),
        (b"[1, 2]", "invalid"),
        (b"{not json", "not valid JSON"),
    ],
    ids=["deeply-nested", "huge", "not-utf8", "wrong-type", "wrong-top-level", "broken"],
)
def test_every_malformed_manifest_is_permanent(tmp_path: Path, body: bytes, words: str) -> None:
    with pytest.raises(PermanentError, match=words) as caught:
        _manifest(tmp_path, body)
    assert failure_kind(caught.value) == "permanent"


def test_an_empty_marker_means_defaults(tmp_path: Path) -> None:
    assert _manifest(tmp_path, b"") == SessionManifest()


def test_deterministic_errors_are_permanent_even_unwrapped() -> None:
    assert failure_kind(RecursionError()) == "permanent"
    assert failure_kind(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad")) == "permanent"
    assert failure_kind(ConnectionError()) == "transient"
