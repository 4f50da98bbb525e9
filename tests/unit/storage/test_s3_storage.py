"""The storage contract run against a local folder and a real S3 API (moto over HTTP), plus S3 error mapping."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from pydantic import BaseModel

from pipeline.domain.errors import PermanentError, TransientError
from pipeline.intake.contract import load_session
from pipeline.storage import LocalStorage, Storage, open_storage
from pipeline.storage.s3 import S3Storage
from tests.support.s3_server import S3Bucket, make_client, seed_objects


class Note(BaseModel):
    title: str
    score: float


@dataclass
class Backend:
    """A storage rooted at 'uploads' and a sibling rooted at 'uploads2', whose keys must never leak in."""

    name: str
    storage: Storage
    sibling: Storage


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        return Backend("local", LocalStorage(tmp_path / "uploads"), LocalStorage(tmp_path / "uploads2"))
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    return Backend(
        "s3",
        S3Storage.from_uri(bucket.uri("uploads"), bucket.client),
        S3Storage.from_uri(bucket.uri("uploads2"), bucket.client),
    )


def keys(storage: Storage, prefix: str = "") -> list[str]:
    return sorted(info.key for info in storage.list(prefix))


def test_bytes_json_and_model_round_trip(backend: Backend) -> None:
    storage = backend.storage
    storage.write_bytes("a/s1/audio.webm", b"\x00\x01binary")
    storage.write_json("a/s1/session.json", {"language": "en", "n": 3})
    storage.write_model("results/a/s1/note.json", Note(title="x", score=0.5))
    assert storage.read_bytes("a/s1/audio.webm") == b"\x00\x01binary"
    assert storage.read_json("a/s1/session.json") == {"language": "en", "n": 3}
    assert storage.read_model("results/a/s1/note.json", Note) == Note(title="x", score=0.5)
    storage.write_bytes("a/s1/audio.webm", b"new")  # overwrite replaces the whole object
    assert storage.read_bytes("a/s1/audio.webm") == b"new"


def test_stat_exists_and_delete(backend: Backend) -> None:
    storage = backend.storage
    before = time.time()
    storage.write_bytes("a/s1/transcript.txt", b"hello")
    info = storage.stat("a/s1/transcript.txt")
    assert info is not None and info.key == "a/s1/transcript.txt" and info.size == 5
    assert before - 2 <= info.modified <= time.time() + 2  # S3 HEAD reports whole seconds
    assert storage.exists("a/s1/transcript.txt")
    assert storage.stat("a/s1/missing.txt") is None and not storage.exists("a/s1/missing.txt")
    storage.delete("a/s1/transcript.txt")
    assert not storage.exists("a/s1/transcript.txt")
    storage.delete("a/s1/transcript.txt")  # deleting what is gone is not an error


def test_list_is_recursive_folder_scoped_and_relative(backend: Backend) -> None:
    storage = backend.storage
    for key in (
        "a/s1/audio.webm",
        "a/s1/session.json",
        "a/s2/transcript.txt",
        "ab/s3/transcript.txt",
        "top.txt",
    ):
        storage.write_bytes(key, key.encode())
    backend.sibling.write_bytes("a/s9/transcript.txt", b"other root")
    everything = [
        "a/s1/audio.webm",
        "a/s1/session.json",
        "a/s2/transcript.txt",
        "ab/s3/transcript.txt",
        "top.txt",
    ]
    assert keys(storage) == everything
    assert keys(storage, "a") == keys(storage, "a/") == everything[:3]  # a folder: never ab/...
    assert keys(storage, "a/s1/") == everything[:2]
    assert keys(storage, "nothing/") == []
    sizes = {info.key: info.size for info in storage.list("a/s2/")}
    assert sizes == {"a/s2/transcript.txt": len(b"a/s2/transcript.txt")}
    assert keys(backend.sibling) == ["a/s9/transcript.txt"]


def test_tree_and_delete_tree_take_a_whole_folder_hidden_names_included(backend: Backend) -> None:
    storage = backend.storage
    for key in (
        "ann/s1/audio.wav",
        "ann/s1/.audio.wav.tmp",
        "ann/.hidden/x",
        "annika/s2/t.txt",
        "b/s3/t.txt",
    ):
        storage.write_bytes(key, b"x")
    backend.sibling.write_bytes("ann/s1/audio.wav", b"x")
    assert sorted(storage.tree("ann")) == ["ann/.hidden/x", "ann/s1/.audio.wav.tmp", "ann/s1/audio.wav"]
    assert storage.delete_tree("ann") == 3
    assert list(storage.tree("ann")) == [] and storage.delete_tree("ann") == 0  # idempotent
    assert keys(storage) == ["annika/s2/t.txt", "b/s3/t.txt"]  # a longer name is another folder
    assert keys(backend.sibling) == ["ann/s1/audio.wav"]
    with pytest.raises(ValueError, match="below the storage root"):
        storage.delete_tree("")


def test_delete_tree_removes_a_symlink_leaving_the_root_not_its_target(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not ours")
    storage = LocalStorage(tmp_path / "uploads")
    storage.write_bytes("b/s1/t.txt", b"x")
    (tmp_path / "uploads" / "eve").symlink_to(outside)
    assert list(storage.tree("eve")) == ["eve"]
    assert storage.delete_tree("eve") == 1
    assert not (tmp_path / "uploads" / "eve").exists() and (outside / "keep.txt").exists()


def test_uploads_contract_sees_the_same_session(backend: Backend) -> None:
    backend.storage.write_bytes("learner1/s1/audio.webm", b"webm")
    backend.storage.write_json("learner1/s1/session.json", {"language": "en"})
    upload = load_session(backend.storage, "learner1", "s1")
    assert upload is not None and sorted(upload.files) == ["audio.webm", "session.json"]
    assert upload.is_ready(now=time.time(), quiet_seconds=60)


def test_local_file_keeps_suffix_and_content(backend: Backend) -> None:
    backend.storage.write_bytes("a/s1/audio.webm", b"webm bytes")
    with backend.storage.local_file("a/s1/audio.webm") as path:
        assert path.suffix == ".webm" and path.read_bytes() == b"webm bytes"
    if backend.name == "s3":
        assert not path.exists()  # the download is temporary
    else:
        assert path.exists()  # the local backend hands out the file itself


def test_missing_key_is_file_not_found(backend: Backend) -> None:
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        backend.storage.read_bytes("a/nope.txt")
    with pytest.raises(FileNotFoundError, match="nope.webm"), backend.storage.local_file("a/nope.webm"):
        pass


@pytest.mark.parametrize("key", ["../outside.txt", "a/../../outside.txt"])
def test_key_escaping_root_is_rejected_permanently(backend: Backend, key: str) -> None:
    with pytest.raises(PermanentError, match="escapes"):
        backend.storage.write_bytes(key, b"x")


def test_open_storage_builds_s3_storage(s3_bucket: S3Bucket) -> None:
    storage = open_storage("s3://b/some/prefix/", s3_client=s3_bucket.client)
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix, storage.uri) == ("b", "some/prefix", "s3://b/some/prefix")
    assert storage.describe("a/s1/audio.webm") == "s3://b/some/prefix/a/s1/audio.webm"
    assert S3Storage.from_uri("s3://b", s3_bucket.client).describe("k.txt") == "s3://b/k.txt"
    with pytest.raises(ValueError, match="no S3 client"):
        open_storage("s3://b/p")
    with pytest.raises(ValueError, match="names no bucket"):
        S3Storage.from_uri("s3:///p", s3_bucket.client)


def test_s3_root_storage_and_directory_markers(s3_bucket: S3Bucket) -> None:
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="uploads/a/s1/", Body=b"")  # a console "folder"
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="uploads/a/s1/.DS_Store", Body=b"junk")
    storage = S3Storage.from_uri(s3_bucket.uri("uploads"), s3_bucket.client)
    storage.write_bytes("a/s1/transcript.txt", b"hi")
    assert keys(storage) == ["a/s1/transcript.txt"]
    assert keys(S3Storage.from_uri(s3_bucket.uri(), s3_bucket.client), "uploads") == [
        "uploads/a/s1/transcript.txt"
    ]


def test_s3_list_follows_pages(s3_bucket: S3Bucket) -> None:
    client = make_client(s3_bucket.endpoint)  # its own: the event hook must not reach the shared client
    storage = S3Storage.from_uri(s3_bucket.uri("uploads"), client)
    for i in range(7):
        storage.write_bytes(f"l/s{i}/transcript.txt", b"x")
    # Two keys a page: the paginator must follow continuation tokens rather than stop at the first page.
    client.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2", lambda params, **_: params.update(MaxKeys=2)
    )
    assert len(keys(storage)) == 7


def test_s3_wrong_bucket_is_permanent_with_clear_message(s3_bucket: S3Bucket) -> None:
    storage = S3Storage.from_uri("s3://no-such-bucket-here/uploads", s3_bucket.client)
    for call in (
        lambda: list(storage.list()),
        lambda: storage.read_bytes("a.txt"),
        lambda: storage.stat("a.txt"),
    ):
        with pytest.raises(PermanentError, match="'no-such-bucket-here' does not exist"):
            call()


def test_s3_unreachable_endpoint_is_transient() -> None:
    client = make_client(
        "http://127.0.0.1:9", connect_timeout=0.5, read_timeout=0.5, retries={"total_max_attempts": 1}
    )
    storage = S3Storage.from_uri("s3://bucket/uploads", client)
    for call in (
        lambda: list(storage.list()),
        lambda: storage.read_bytes("a.txt"),
        lambda: storage.stat("a.txt"),
    ):
        with pytest.raises(TransientError, match="cannot reach S3"):
            call()


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("SlowDown", 503, TransientError),
        ("InternalError", 500, TransientError),
        ("Throttling", 400, TransientError),
        ("AccessDenied", 403, PermanentError),
        ("InvalidAccessKeyId", 403, PermanentError),
        ("SignatureDoesNotMatch", 403, PermanentError),
        ("NoSuchBucket", 404, PermanentError),
    ],
)
def test_s3_error_codes_are_classified_without_leaking_secrets(
    code: str, status: int, kind: type[Exception]
) -> None:
    client = boto3.session.Session().client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="AKIDVISIBLEKEY",
        aws_secret_access_key="VERYSECRETvalue123",
    )
    storage = S3Storage.from_uri("s3://bucket/uploads", client)
    with Stubber(client) as stub:
        stub.add_client_error("get_object", service_error_code=code, http_status_code=status)
        with pytest.raises(kind) as caught:
            storage.read_bytes("a/s1/audio.webm")
    assert "VERYSECRETvalue123" not in str(caught.value) and "AKIDVISIBLEKEY" not in str(caught.value)
    if kind is PermanentError:
        assert "AWS_" in str(caught.value) or "does not exist" in str(caught.value)


def test_s3_local_file_cleans_up_on_error(
    s3_bucket: S3Bucket,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    storage = S3Storage.from_uri(s3_bucket.uri("uploads"), s3_bucket.client)
    storage.write_bytes("a/s1/audio.wav", b"RIFF")
    with pytest.raises(RuntimeError), storage.local_file("a/s1/audio.wav") as path:
        assert path.parent == tmp_path
        raise RuntimeError("decoder failed")
    with pytest.raises(FileNotFoundError), storage.local_file("a/s1/missing.wav"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_s3_seeded_objects_are_listed(s3_bucket: S3Bucket) -> None:
    seed_objects(s3_bucket, {f"uploads/l{i}/s1/transcript.txt": b"hi" for i in range(50)})
    storage = S3Storage.from_uri(s3_bucket.uri("uploads"), s3_bucket.client)
    assert len(keys(storage)) == 50 and storage.read_bytes("l7/s1/transcript.txt") == b"hi"
