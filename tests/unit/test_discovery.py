"""Incremental upload discovery: readiness, cursor, replays, deletions and bad ids (no Dagster)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipeline.discovery import DiscoveryCursor, discover
from pipeline.errors import PermanentError
from pipeline.storage import LocalStorage
from pipeline.uploads import read_manifest, validate_id


def put(root: Path, key: str, data: bytes = b"x", age: float = 0.0) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if age:
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


def run(root: Path, cursor: DiscoveryCursor, quiet: float = 10.0, **kw):
    return discover(LocalStorage(root), cursor, now=time.time(), quiet_seconds=quiet, **kw)


def test_manifest_makes_a_session_ready_at_once_and_media_alone_waits_for_quiet(root: Path) -> None:
    put(root, "ana/s1/transcript.txt", b"hello")
    put(root, "ana/s1/session.json", b"{}")
    put(root, "ana/s2/audio.wav", b"RIFF")
    found = run(root, DiscoveryCursor())
    assert [u.session_id for u in found.ready] == ["s1"]
    assert found.waiting == 1 and "ana/s2" in found.cursor.pending


def test_a_pending_session_becomes_ready_after_the_quiet_period(root: Path) -> None:
    put(root, "ana/s2/audio.wav", b"RIFF")
    first = run(root, DiscoveryCursor())
    assert first.ready == []
    second = run(root, first.cursor, quiet=0.0)
    assert [u.session_id for u in second.ready] == ["s2"]
    assert second.cursor.pending == {}


def test_old_media_is_ready_without_manifest(root: Path) -> None:
    put(root, "ana/s3/audio.ogg", b"OggS", age=60)
    assert [u.session_id for u in run(root, DiscoveryCursor()).ready] == ["s3"]


def test_next_tick_sees_only_new_sessions_and_a_replay_is_empty(root: Path) -> None:
    put(root, "ana/s1/transcript.txt", age=100)
    put(root, "ana/s1/session.json", age=100)
    first = run(root, DiscoveryCursor())
    assert [u.session_id for u in first.ready] == ["s1"]
    assert run(root, first.cursor).ready == []  # same cursor: nothing new
    put(root, "ben/s9/transcript.txt")
    put(root, "ben/s9/session.json")
    assert [u.session_id for u in run(root, first.cursor).ready] == ["s9"]


def test_manifest_arriving_late_completes_an_old_session(root: Path) -> None:
    put(root, "ana/s1/audio.wav", age=3)  # recent, so not ready by quiet period
    first = run(root, DiscoveryCursor(), quiet=3600)
    assert first.ready == []
    put(root, "ana/s1/session.json", b"{}")
    found = run(root, first.cursor, quiet=3600)
    assert [u.session_id for u in found.ready] == ["s1"]
    assert found.ready[0].media is not None and found.ready[0].media.key == "ana/s1/audio.wav"


def test_deleting_objects_never_breaks_the_cursor(root: Path) -> None:
    put(root, "ana/s1/transcript.txt", age=100)
    put(root, "ana/s1/session.json", age=100)
    first = run(root, DiscoveryCursor())
    (root / "ana/s1/transcript.txt").unlink()
    (root / "ana/s1/session.json").unlink()
    put(root, "ana/s2/transcript.txt")
    put(root, "ana/s2/session.json")
    assert [u.session_id for u in run(root, first.cursor).ready] == ["s2"]


def test_invalid_ids_are_rejected_once_with_a_clear_message_and_others_proceed(root: Path) -> None:
    put(root, "ana/bad id!/transcript.txt")
    put(root, "ana/good/transcript.txt")
    put(root, "ana/good/session.json")
    found = run(root, DiscoveryCursor())
    assert [u.session_id for u in found.ready] == ["good"]
    assert len(found.rejected) == 1 and "invalid session id 'bad id!'" in found.rejected[0].message
    assert run(root, found.cursor).rejected == []


def test_max_sessions_per_tick_defers_the_rest(root: Path) -> None:
    for i in range(5):
        put(root, f"ana/s{i}/transcript.txt", age=100)
        put(root, f"ana/s{i}/session.json", age=100)
    first = run(root, DiscoveryCursor(), max_sessions=2)
    assert len(first.ready) == 2 and first.waiting == 3
    second = run(root, first.cursor, max_sessions=10)
    assert len(second.ready) == 3
    assert {u.session_id for u in first.ready} | {u.session_id for u in second.ready} == {f"s{i}" for i in range(5)}


def test_corrupt_cursor_restarts_discovery() -> None:
    assert DiscoveryCursor.from_json("{not json").watermark == 0.0
    assert DiscoveryCursor.from_json(DiscoveryCursor(5.0, {"a/b": 1.0}).to_json()).pending == {"a/b": 1.0}


@pytest.mark.parametrize("value", ["", "-lead", "a" * 65, "has space", "dot.dot", "../up", "ünï"])
def test_invalid_ids(value: str) -> None:
    with pytest.raises(PermanentError, match="ids must be"):
        validate_id(value)


@pytest.mark.parametrize("value", ["a", "A1_b-2", "x" * 64])
def test_valid_ids(value: str) -> None:
    assert validate_id(value) == value


def test_malformed_manifest_is_a_permanent_error_naming_the_problem(root: Path) -> None:
    from pipeline.uploads import load_session

    put(root, "ana/s1/transcript.txt")
    put(root, "ana/s1/session.json", b'{"recorded_at": "yesterday-ish"}')
    put(root, "ana/s2/transcript.txt")
    put(root, "ana/s2/session.json", b"{oops")
    storage = LocalStorage(root)
    with pytest.raises(PermanentError, match="recorded_at"):
        read_manifest(storage, load_session(storage, "ana", "s1"))
    with pytest.raises(PermanentError, match="not valid JSON"):
        read_manifest(storage, load_session(storage, "ana", "s2"))
