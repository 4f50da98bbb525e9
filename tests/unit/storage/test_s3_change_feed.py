"""Discovery through S3 event notifications on SQS (real moto S3 and SQS on loopback): no loss, no breakage."""

from __future__ import annotations

import json
import tempfile
import time

import pytest

from pipeline.intake.discovery import discover
from pipeline.intake.registry import UploadRegistry
from pipeline.intake.tick import Discovery, DiscoveryCursor
from pipeline.status.store import StatusStore
from pipeline.storage.change_feed import SqsChangeFeed
from pipeline.storage.s3 import S3Storage
from tests.support.s3_server import S3Bucket, seed_objects, subscribe_queue

PREFIX = "uploads"


class Env:
    """One bucket with its event queue, the uploads storage and a feed; ``tick`` is one sensor evaluation."""

    def __init__(self, bucket: S3Bucket, visibility_timeout: int = 300, max_messages: int = 1000) -> None:
        self.bucket = bucket
        self.sqs, self.queue_url = subscribe_queue(bucket)
        self.storage = S3Storage(bucket.name, PREFIX, bucket.client)
        self.feed = SqsChangeFeed(
            self.sqs, self.queue_url, PREFIX, bucket.name, max_messages, visibility_timeout=visibility_timeout
        )
        self.status = StatusStore(f"sqlite:///{tempfile.mkdtemp()}/status.db")
        self.registry = UploadRegistry(self.status.engine)

    def put(self, key: str, data: bytes = b"x") -> None:
        self.bucket.client.put_object(Bucket=self.bucket.name, Key=key, Body=data)

    def session(self, learner: str, session: str, manifest: bool = True) -> None:
        self.put(f"{PREFIX}/{learner}/{session}/transcript.txt", b"hello there")
        if manifest:
            self.put(f"{PREFIX}/{learner}/{session}/session.json", b"{}")

    def tick(self, cursor: DiscoveryCursor, later: float = 0.0) -> Discovery:
        return discover(
            self.storage,
            self.registry,
            self.status,
            cursor,
            now=time.time() + later,
            quiet_seconds=3600,
            feed=self.feed,
        )

    def queued(self) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def ids(found: Discovery) -> list[str]:
    return sorted(u.session_id for u in found.ready)


def test_finds_only_new_ready_sessions_and_a_committed_tick_empties_the_queue(s3_bucket: S3Bucket) -> None:
    # Existing sessions written before the notification existed: a listing would see them, events do not.
    seed_objects(s3_bucket, {f"{PREFIX}/old/o{i}/transcript.txt": b"x" for i in range(50)})
    env = Env(s3_bucket)
    env.session("ana", "s1")
    env.session("ben", "s2")
    env.session("ana", "s3", manifest=False)  # media only, recent: settles first
    first = env.tick(DiscoveryCursor())
    assert ids(first) == ["s1", "s2"] and first.waiting == 1
    receipts = env.registry.feed_state(first.cursor.tick)["receipts"]
    assert len(receipts) == 6  # 5 objects + the s3:TestEvent, not yet deleted
    assert len(first.cursor.to_json()) < 40  # the cursor is a tick number: receipts live in the registry
    assert env.queued() == 6
    second = env.tick(DiscoveryCursor.from_json(first.cursor.to_json()))  # committed: acknowledges
    assert second.ready == [] and second.waiting == 1  # s3 is still settling, from the registry
    assert second.listings == 0  # nothing new: waiting folders cost no listing
    assert env.queued() == 0
    env.put(f"{PREFIX}/ana/s3/session.json", b"{}")
    assert ids(env.tick(second.cursor)) == ["s3"]


def test_a_tick_that_was_not_committed_is_found_again(s3_bucket: S3Bucket) -> None:
    env = Env(s3_bucket, visibility_timeout=1)
    env.session("ana", "s1")
    old = DiscoveryCursor()
    lost = env.tick(old)
    assert ids(lost) == ["s1"]
    time.sleep(1.2)  # the visibility timeout: the unacknowledged messages come back
    again = env.tick(old)  # the sensor got the old cursor back, as after a crash before commit
    assert ids(again) == ["s1"]
    final = env.tick(again.cursor)
    assert final.ready == [] and env.queued() == 0


def test_deleting_or_reuploading_objects_breaks_nothing(s3_bucket: S3Bucket) -> None:
    env = Env(s3_bucket)
    for session in ("s1", "s2", "s3"):
        env.session("ana", session)
    cursor = env.tick(DiscoveryCursor()).cursor
    s3 = s3_bucket.client
    s3.delete_object(Bucket=s3_bucket.name, Key=f"{PREFIX}/ana/s1/transcript.txt")
    s3.delete_objects(
        Bucket=s3_bucket.name,
        Delete={
            "Objects": [{"Key": f"{PREFIX}/ana/s2/{name}"} for name in ("transcript.txt", "session.json")]
        },
    )
    after_delete = env.tick(cursor)
    assert after_delete.ready == [] and after_delete.rejected == []
    env.put(f"{PREFIX}/ana/s3/transcript.txt", b"a corrected transcript")  # re-upload: a new ETag
    env.put(f"{PREFIX}/ana/s2/transcript.txt", b"hello there")  # the same content as before: no run
    env.session("ben", "s4")
    reupload = env.tick(after_delete.cursor)
    assert ids(reupload) == ["s4"] and reupload.waiting == 1  # s3's new version settles first
    settled = env.tick(reupload.cursor, later=3601)
    assert ids(settled) == ["s3"] and settled.ready[0].reupload
    assert env.tick(settled.cursor, later=3601).ready == [] and env.queued() == 0


def test_keys_outside_the_prefix_are_ignored_and_encoded_keys_decode(s3_bucket: S3Bucket) -> None:
    env = Env(s3_bucket)
    env.put("other/ana/s1/transcript.txt")
    env.put(f"{PREFIX}2/ana/s1/transcript.txt")  # a sibling prefix, not a folder under it
    env.put(f"{PREFIX}/ana/.hidden/x/transcript.txt")
    env.put(f"{PREFIX}/ana/my session/transcript.txt")
    env.put(f"{PREFIX}/ana/s+1%/transcript.txt")
    changed, state = env.feed.changes({})
    assert sorted(info.key for info in changed) == [
        "ana/my session/transcript.txt",
        "ana/s+1%/transcript.txt",
    ]
    assert len(state["receipts"]) == 6
    found = env.tick(DiscoveryCursor(feed=state))  # the messages were consumed above; nothing new
    assert found.ready == [] and env.queued() == 0
    env.put(f"{PREFIX}/ana/my session/session.json", b"{}")
    rejected = env.tick(found.cursor).rejected
    assert len(rejected) == 1 and "invalid session id 'my session'" in rejected[0].message


def test_sns_wrapped_and_foreign_messages(s3_bucket: S3Bucket) -> None:
    env = Env(s3_bucket)
    record = {
        "eventName": "ObjectCreated:Put",
        "eventTime": "2026-01-31T10:00:00.000Z",
        "s3": {
            "bucket": {"name": s3_bucket.name},
            "object": {"key": f"{PREFIX}/ana/s1/audio.wav", "size": 4},
        },
    }
    sns = {"Type": "Notification", "Message": json.dumps({"Records": [record]})}
    foreign = {"Records": [{**record, "s3": {**record["s3"], "bucket": {"name": "another-bucket"}}}]}
    for body in (
        json.dumps(sns),
        json.dumps(foreign),
        "not json",
        json.dumps({"Records": [{"eventName": 1}]}),
    ):
        env.sqs.send_message(QueueUrl=env.queue_url, MessageBody=body)
    changed, state = env.feed.changes({})
    assert [(info.key, info.size) for info in changed] == [("ana/s1/audio.wav", 4)]
    assert changed[0].modified == pytest.approx(1769853600.0)
    env.feed.changes(state)
    assert env.queued() == 0


def test_at_most_max_messages_per_tick_and_the_rest_next_tick(s3_bucket: S3Bucket) -> None:
    env = Env(s3_bucket, max_messages=5)
    for i in range(4):
        env.session("ana", f"s{i}")  # 8 events + the test event
    first = env.tick(DiscoveryCursor())
    assert len(env.registry.feed_state(first.cursor.tick)["receipts"]) == 5
    second = env.tick(first.cursor)
    assert set(ids(first)) | set(ids(second)) == {"s0", "s1", "s2", "s3"}
    env.tick(second.cursor)
    assert env.queued() == 0


def test_cursors_of_the_watermark_release_still_load() -> None:
    old = json.dumps(
        {"v": 1, "watermark": 7.0, "pending": {"a/b": 1.0}, "recent": {}, "feed": {"receipts": ["h1"]}}
    )
    assert DiscoveryCursor.from_json(old) == DiscoveryCursor(0, {"receipts": ["h1"]})
    cursor = DiscoveryCursor(7, feed={"receipts": ["h1"]})
    assert DiscoveryCursor.from_json(cursor.to_json()).feed == {"receipts": ["h1"]}


def test_a_backlog_is_drained_from_the_registry_without_listings(s3_bucket: S3Bucket) -> None:
    env = Env(s3_bucket)
    for i in range(30):
        env.session(f"l{i % 3}", f"s{i:02d}")
    cursor, seen = DiscoveryCursor(), set()
    for backlog in (20, 10, 0):
        found = discover(
            env.storage,
            env.registry,
            env.status,
            cursor,
            now=time.time(),
            quiet_seconds=3600,
            max_sessions=10,
            feed=env.feed,
        )
        assert len(found.ready) == 10 and found.backlog == backlog and found.listings == 0
        assert not seen & set(ids(found))
        seen |= set(ids(found))
        cursor = found.cursor
    assert len(seen) == 30
    assert env.tick(cursor).ready == [] and env.queued() == 0  # the last tick's receipts acknowledged
