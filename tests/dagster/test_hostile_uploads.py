"""A hostile upload corpus walked by the real uploads sensor: each bad folder is rejected with a
reason, named safely, and never stops the sensor for the others (issue 18, item 1)."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from pipeline.domain.ids import shown
from pipeline.status.cli import main as status_cli
from pipeline.status.store import StatusStore
from tests.support.materialize import offline_resource
from tests.support.sensor_ticks import offline_uploads_sensor, tick
from tests.support.sessions import add_session


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def sensor(monkeypatch: pytest.MonkeyPatch) -> dg.SensorDefinition:
    return offline_uploads_sensor(monkeypatch)


def _hostile_corpus(root: Path) -> dict[str, str]:
    """Write the corpus; returns the folder each rejection is expected under and words of its reason."""
    add_session(root, "eve", "s9", text=None)
    (root / "eve" / "s9" / "transcript.txt").symlink_to("/etc/hosts")
    add_session(root, "fifo", "s1", text=None)
    os.mkfifo(root / "fifo" / "s1" / "transcript.txt")  # hashing it would block the tick forever
    add_session(root, "sock", "s1", text=None)
    with socket.socket(socket.AF_UNIX) as listener:  # a Unix socket stays on disk once bound
        listener.bind(str(root / "sock" / "s1" / "transcript.txt"))
    expected = {}
    try:  # a device node needs privileges that CI may not have; the same check covers it
        add_session(root, "dev", "s1", text=None)
        os.mknod(root / "dev" / "s1" / "transcript.txt", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        expected["dev/s1"] = "not a regular file"
    except PermissionError:
        shutil.rmtree(root / "dev")
    latin = os.fsencode(root / "latin") + b"/s\xe9ance"  # unzipped from a Latin-1 archive
    os.makedirs(latin)
    with open(latin + b"/transcript.txt", "wb") as handle:
        handle.write(b"Bonjour.")
    add_session(root, "sp", "my session", text="Spaces.")
    add_session(root, "nl", "a\nb", text="Newline.")
    add_session(root, "long", "x" * 200, text="Long.")
    add_session(root, "deep", "s1", text=None)
    (root / "deep" / "s1" / "inner").mkdir()
    (root / "deep" / "s1" / "inner" / "transcript.txt").write_text("Too deep.")
    add_session(root, "two", "s1", text="Text.")
    (root / "two" / "s1" / "audio.mp3").write_bytes(b"ID3")
    add_session(root, "loop", "s1", text=None)
    (root / "loop" / "s1" / "transcript.txt").symlink_to(root / "loop" / "s1" / "transcript.txt")
    return expected | {
        "eve/s9": "symlink that leads outside",
        "fifo/s1": "not a regular file",
        "sock/s1": "not a regular file",
        "latin/s\\udce9ance": "invalid session id",
        "sp/my session": "invalid session id",
        "nl/a\\nb": "invalid session id",
        f"long/{'x' * 120}...": "invalid session id",
        "deep/s1": "subfolder",
        "two/s1": "more than one media file",
        "loop/s1": "cannot be read",
    }


def test_hostile_folders_are_rejected_and_a_normal_upload_still_runs(
    sensor, instance, tmp_path: Path, uploads_dir: Path, monkeypatch, capsys
) -> None:
    expected = _hostile_corpus(uploads_dir)
    add_session(uploads_dir, "ana", "ok1", text="A normal upload.")
    add_session(uploads_dir, "ana", "inside", text=None)  # a symlink within the root is an upload
    (uploads_dir / "ana" / "inside" / "transcript.txt").symlink_to(
        uploads_dir / "ana" / "ok1" / "transcript.txt"
    )
    add_session(uploads_dir, "ana", "empty", text="Marker is empty.", manifest="")
    resource = offline_resource(tmp_path, uploads_dir)

    data = tick(sensor, instance, resource)
    assert sorted(r.partition_key for r in data.run_requests) == ["empty", "inside", "ok1"]

    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    rejected = {row.folder: row.reason for row in status.rejections.list()}
    assert set(rejected) == set(expected), rejected
    for folder, words in expected.items():
        assert words in rejected[folder], (folder, rejected[folder])
        assert "\n" not in folder and "\n" not in rejected[folder]
        rejected[folder].encode("utf-8")  # storable and printable anywhere

    again = tick(sensor, instance, resource, cursor=data.cursor)  # the next tick does not raise either
    assert again.run_requests == []

    monkeypatch.setenv("STATUS_DB_URL", f"sqlite:///{tmp_path}/status.db")
    status_cli(["--rejected"])
    out = capsys.readouterr().out
    assert "eve/s9" in out and "latin/s\\udce9ance" in out

    shutil.rmtree(uploads_dir / "two")  # deleted by its uploader: nothing is left to fix
    shutil.rmtree(os.fsencode(uploads_dir / "latin"))
    tick(sensor, instance, resource, cursor=again.cursor)
    left = {row.folder for row in status.rejections.list()}
    assert left == set(expected) - {"two/s1", "latin/s\\udce9ance"}, left


def test_shown_escapes_what_cannot_be_stored_or_logged() -> None:
    assert shown("s\udce9ance") == "s\\udce9ance"
    assert shown("a\nb\x1b[31m") == "a\\nb\\x1b[31m"
    assert shown("séance") == "séance"
    assert shown("x" * 300).endswith("...") and len(shown("x" * 300)) == 123


def test_case_only_twins_reject_the_later_spelling(
    sensor, instance, tmp_path: Path, uploads_dir: Path
) -> None:
    add_session(uploads_dir, "ana", "S1", text="First spelling.")
    later = add_session(uploads_dir, "ben", "s1", text="Second spelling.")
    stamp = os.stat(later / "session.json").st_mtime + 5
    for name in ("transcript.txt", "session.json"):
        os.utime(later / name, (stamp, stamp))
    resource = offline_resource(tmp_path, uploads_dir)
    data = tick(sensor, instance, resource)
    assert [r.partition_key for r in data.run_requests] == ["S1"]
    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    [row] = status.rejections.list()
    assert row.folder == "ben/s1" and "differs only in case from ana/S1" in row.reason


def test_a_folder_deleted_mid_tick_is_skipped_and_the_tick_goes_on(
    sensor, instance, tmp_path: Path, uploads_dir: Path
) -> None:
    """The tick lists every folder, then hashes each media file: one deleted in between is passed over."""
    big = add_session(uploads_dir, "aaa", "big", text=None, manifest=None) / "transcript.txt"
    with big.open("wb") as handle:  # hashed first, long enough to delete a later folder meanwhile
        handle.truncate(64 * 1024 * 1024)  # sparse: no disk is used
    (big.parent / "session.json").write_text("{}")  # written last: the upload is complete
    victim = add_session(uploads_dir, "mmm", "gone", text="Deleted by its uploader mid-tick.")
    add_session(uploads_dir, "zzz", "ok2", text="A normal upload after it.")
    resource = offline_resource(tmp_path, uploads_dir)
    opened, stop = threading.Event(), threading.Event()

    def delete_once_hashing_starts() -> None:  # the listing is over once a media file is open
        while not stop.is_set():
            for fd in Path("/proc/self/fd").iterdir():
                try:
                    if os.readlink(fd) == str(big):
                        shutil.rmtree(victim.parent)
                        opened.set()
                        return
                except OSError:
                    continue
            time.sleep(0.001)

    deleter = threading.Thread(target=delete_once_hashing_starts)
    deleter.start()
    try:
        data = tick(sensor, instance, resource)
    finally:
        stop.set()
        deleter.join()
    assert opened.is_set() and not victim.exists()
    assert sorted(r.partition_key for r in data.run_requests) == ["big", "ok2"]
    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    assert status.rejections.list() == [] and status.get("gone") is None
