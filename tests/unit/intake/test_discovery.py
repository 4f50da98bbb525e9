"""Discovery by identity on local folders and S3 (moto): each numbered case of issue 9, ids, readiness, cursor."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.domain.errors import PermanentError
from pipeline.domain.ids import validate_id
from pipeline.domain.models import SessionState
from pipeline.intake.contract import read_manifest
from pipeline.intake.discovery import discover
from pipeline.intake.registry import UploadRegistry
from pipeline.intake.tick import Discovery, DiscoveryCursor
from pipeline.status.store import StatusStore
from pipeline.storage import LocalStorage, Storage
from pipeline.storage.s3 import S3Storage
from tests.support.s3_server import S3Bucket, seed_objects

PREFIX = "uploads"


class Env:
    """An uploads root (a local folder or a moto bucket), a status store and its registry; ``tick`` runs discovery."""

    def __init__(self, storage: Storage, tmp_path: Path, bucket: S3Bucket | None = None) -> None:
        self.storage, self.bucket = storage, bucket
        self.status = StatusStore(f"sqlite:///{tmp_path}/status.db")
        self.registry = UploadRegistry(self.status.engine)
        self.cursor = DiscoveryCursor()
        self.list_calls = 0
        real_list = storage.list

        def counted(prefix: str = ""):  # the real listing, counted
            self.list_calls += 1
            return real_list(prefix)

        storage.list = counted  # type: ignore[method-assign]

    def put(self, key: str, data: bytes = b"x", age: float = 0.0) -> None:
        """Write an object whose modification time is ``age`` seconds ago (negative: in the future)."""
        stamp = time.time() - age
        if self.bucket is None:
            path = Path(self.storage.uri) / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            if age:
                os.utime(path, (stamp, stamp))
            return
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        seed_objects(self.bucket, {f"{PREFIX}/{key}": data})
        if age:  # what `aws s3 sync` of old objects or a skewed writer leaves: LastModified not now
            obj = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_object(self.bucket.name, f"{PREFIX}/{key}")
            obj.last_modified = datetime.fromtimestamp(stamp, UTC)

    def session(
        self, learner: str, session: str, text: bytes = b"hello", manifest: bool = True, age: float = 0.0
    ):
        self.put(f"{learner}/{session}/transcript.txt", text, age)
        if manifest:
            self.put(f"{learner}/{session}/session.json", b"{}", age)

    def tick(self, *, quiet: float = 10.0, later: float = 0.0, commit: bool = True, **kw) -> Discovery:
        self.list_calls = 0
        found = discover(
            self.storage,
            self.registry,
            self.status,
            self.cursor,
            now=time.time() + later,
            quiet_seconds=quiet,
            **kw,
        )
        for upload in found.ready:  # what the sensor does with them
            self.status.register(
                upload.session_id,
                upload.learner_id,
                media_key=upload.media_key,
                uploaded_at=None,
                version=upload.version,
            )
        if commit:
            self.cursor = DiscoveryCursor.from_json(found.cursor.to_json())
        return found


@pytest.fixture(params=["local", "s3"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Env:
    if request.param == "local":
        return Env(LocalStorage(tmp_path / "uploads"), tmp_path)
    bucket = request.getfixturevalue("s3_bucket")
    return Env(S3Storage(bucket.name, PREFIX, bucket.client), tmp_path, bucket)


def ids(found: Discovery) -> list[str]:
    return sorted(u.session_id for u in found.ready)


def test_1_sessions_with_old_modification_times_are_found(env: Env) -> None:
    env.session("ana", "s1")
    assert ids(env.tick()) == ["s1"]
    env.session("ana", "old", age=30 * 86400)  # cp -p / rsync -a / tar x of a month-old session
    env.put("ben/old2/transcript.txt", b"no manifest, old", age=30 * 86400)
    assert ids(env.tick()) == ["old", "old2"]
    assert env.tick().ready == []


def test_2_a_file_from_the_future_hides_nothing(env: Env) -> None:
    env.session("ana", "future", age=-3600)  # a writer whose clock is an hour ahead
    env.put("ana/future2/transcript.txt", b"no manifest, from the future", age=-3600)
    assert ids(env.tick()) == ["future"]
    env.session("ben", "normal")
    assert ids(env.tick()) == ["normal"]
    # Without a manifest, the quiet period runs on the sensor's clock from its first sight.
    assert ids(env.tick(quiet=10, later=11)) == ["future2"]


def test_3_a_rejected_folder_never_touches_another_learners_session(env: Env) -> None:
    env.session("ana", "s42", b"ana's session")
    env.session("ben", "a" * 64, b"ben's session")
    assert ids(env.tick()) == ["a" * 64, "s42"]
    env.status.set_state("s42", SessionState.DONE)
    env.session("bad learner", "s42", b"bad")
    env.session("ana", "a" * 65, b"65 characters")  # must not be truncated into ben's id
    env.session("carl", "s42", b"a valid folder, but the id is ana's")
    found = env.tick()
    assert found.ready == []
    assert sorted(r.folder for r in found.rejected) == ["ana/" + "a" * 65, "bad learner/s42", "carl/s42"]
    assert "already used by learner ana" in next(r for r in found.rejected if r.folder == "carl/s42").message
    s42, ben = env.status.get("s42"), env.status.get("a" * 64)
    assert (s42.state, s42.learner_id, s42.error) == (SessionState.DONE, "ana", None)
    assert (ben.state, ben.learner_id) == (SessionState.UPLOADED, "ben")
    assert {r.folder for r in env.status.rejections.list()} == {
        "ana/" + "a" * 65,
        "bad learner/s42",
        "carl/s42",
    }
    assert env.tick().rejected == []  # each rejection is reported once
    env.session("ana", "s42", b"ana's corrected session")  # her own re-upload is not refused
    assert env.tick().waiting == 1  # settling: a new version waits for the quiet period
    assert ids(env.tick(later=11)) == ["s42"]


def test_4_session_json_alone_waits_for_the_media(env: Env) -> None:
    env.put("ana/s1/session.json", b"{}", age=5)
    first = env.tick()
    assert first.ready == [] and first.waiting == 1
    env.put("ana/s1/transcript.txt", b"here it is")
    # The marker is older than the media: it commits nothing (the copy may be under way), so the
    # media must be quiet first (issue 18, item 4).
    assert env.tick().ready == []
    found = env.tick(later=11)
    assert ids(found) == ["s1"] and found.ready[0].media_key == "ana/s1/transcript.txt"
    # A folder that never gets its media is reported after a day, under its folder, once.
    env.put("ana/s2/session.json", b"{}")
    env.tick()
    late = env.tick(later=86400 + 60)
    assert [(r.folder, "after a day" in r.message) for r in late.rejected] == [("ana/s2", True)]
    assert env.status.get("s2") is None


def test_5_a_backlog_costs_one_listing_per_tick_and_a_small_cursor(env: Env) -> None:
    objects = {
        f"l{i % 30}/s{i:04d}/{name}": b"text %d" % i
        for i in range(3000)
        for name in ("transcript.txt", "session.json")
    }
    if env.bucket is None:
        for key, data in objects.items():
            env.put(key, data)
    else:
        seed_objects(env.bucket, {f"{PREFIX}/{k}": v for k, v in objects.items()})
    seen: set[str] = set()
    for _ in range(3):
        found = env.tick(max_sessions=100)
        assert env.list_calls == found.listings == 1
        assert len(found.ready) == 100 and not seen & set(ids(found))
        assert len(found.cursor.to_json()) < 100
        seen |= set(ids(found))
    assert found.backlog == 2700


def test_6_identical_reupload_starts_nothing_and_a_changed_one_is_a_new_version(env: Env) -> None:
    env.session("ana", "s1", b"first text")
    [first] = env.tick().ready
    time.sleep(1.05)  # S3 dates objects to the second: make the re-upload visibly a new object
    env.session("ana", "s1", b"first text")  # same bytes again, new mtime
    assert env.tick(later=11).ready == []
    env.put("ana/s1/transcript.txt", b"a corrected text", age=100)  # even with an old mtime
    assert env.tick().ready == []  # the new media settles first (its session.json was for the old one)
    [second] = env.tick(later=11).ready
    assert second.reupload and not first.reupload
    assert second.version != first.version and second.run_key != first.run_key
    assert second.run_key.startswith("s1:")
    assert env.status.get("s1").upload_version == second.version


def test_an_uncommitted_tick_is_requested_again(env: Env) -> None:
    env.session("ana", "s1")
    lost = env.tick(commit=False)  # the daemon died before storing this tick
    again = env.tick()
    assert [u.run_key for u in again.ready] == [u.run_key for u in lost.ready]
    assert env.tick().ready == []


def test_media_alone_waits_for_the_quiet_period(env: Env) -> None:
    env.put("ana/s2/transcript.txt", b"uploading")
    assert env.tick().waiting == 1
    assert ids(env.tick(later=11)) == ["s2"]


def test_corrupt_cursor_restarts_at_tick_zero() -> None:
    assert DiscoveryCursor.from_json("{not json") == DiscoveryCursor()
    assert DiscoveryCursor.from_json('{"v": 1, "watermark": 5.0, "pending": {"a/b": 1.0}}').tick == 0
    assert DiscoveryCursor.from_json(DiscoveryCursor(7, {"receipts": ["h"]}).to_json()) == DiscoveryCursor(
        7, {"receipts": ["h"]}
    )


@pytest.mark.parametrize("value", ["", "-lead", "a" * 65, "has space", "dot.dot", "../up", "ünï"])
def test_invalid_ids(value: str) -> None:
    with pytest.raises(PermanentError, match="ids must be"):
        validate_id(value)


@pytest.mark.parametrize("value", ["a", "A1_b-2", "x" * 64])
def test_valid_ids(value: str) -> None:
    assert validate_id(value) == value


def test_malformed_manifest_is_a_permanent_error_naming_the_problem(tmp_path: Path) -> None:
    from pipeline.intake.contract import load_session

    storage = LocalStorage(tmp_path)
    storage.write_bytes("ana/s1/transcript.txt", b"x")
    storage.write_bytes("ana/s1/session.json", b'{"recorded_at": "yesterday-ish"}')
    storage.write_bytes("ana/s2/transcript.txt", b"x")
    storage.write_bytes("ana/s2/session.json", b"{oops")
    with pytest.raises(PermanentError, match="recorded_at"):
        read_manifest(storage, load_session(storage, "ana", "s1"))
    with pytest.raises(PermanentError, match="not valid JSON"):
        read_manifest(storage, load_session(storage, "ana", "s2"))


def test_a_status_row_left_by_an_older_release_rejection_does_not_block_the_real_session(env: Env) -> None:
    # Before the registry, a rejected "bad learner/s42/" wrote FAILED under "s42" itself.
    env.status.set_state("s42", SessionState.FAILED, learner_id="bad learner", error="invalid learner id")
    env.session("ana", "s42")
    assert ids(env.tick()) == ["s42"]
    row = env.status.get("s42")
    assert (row.learner_id, row.state, row.error) == ("ana", SessionState.UPLOADED, None)


def test_a_session_folder_directly_under_the_root_is_rejected_with_a_warning(env: Env) -> None:
    """``s9/transcript.txt`` (no learner folder) broke the contract silently; now it says how to fix it."""
    env.put("s9/transcript.txt", b"hello there")
    env.put("README.txt", b"not a session")  # a stray file at the root is still nobody's business
    env.session("ana", "s1")
    found = env.tick()
    assert ids(found) == ["s1"]
    [rejected] = found.rejected
    assert rejected.folder == "s9" and "<learner_id>/s9/" in rejected.message
    assert {r.folder for r in env.status.rejections.list()} == {"s9"}
    assert env.tick().rejected == []  # reported once


def test_upload_completed_at_trusts_the_writers_clock_only_where_it_can(env: Env) -> None:
    """S3's LastModified counts; a local mtime counts when not older than the sensor's first sight."""
    s3 = env.bucket is not None
    before = time.time()
    env.session("ana", "old", age=30 * 86400)  # cp -p of a month-old session
    [old] = env.tick().ready
    assert old.completed_at is not None
    if s3:  # the service's clock
        assert old.completed_at < before - 29 * 86400
    else:  # a preserved local mtime is older than the first sight: the first sight counts
        assert before <= old.completed_at <= time.time()
    env.put("ana/late/session.json", b"{}")  # the folder is seen before its media arrives
    first_sight = time.time()
    assert env.tick().waiting == 1
    time.sleep(0.05)
    env.put("ana/late/transcript.txt", b"copied in after the first sight")
    media = env.storage.stat("ana/late/transcript.txt")
    assert media is not None and media.modified >= first_sight - 1
    [late] = env.tick(later=11).ready
    assert late.completed_at == pytest.approx(media.modified, abs=1e-3)  # when the upload was complete
    env.session("ana", "future", age=-3600)  # a writer whose clock is an hour ahead
    [future] = env.tick().ready
    assert future.completed_at is not None and future.completed_at <= time.time()
