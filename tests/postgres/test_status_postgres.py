"""The session status store on a real PostgreSQL: lifecycle, shared state, and the advisory learner lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(fresh_database: str) -> Iterator[StatusStore]:
    status = StatusStore(fresh_database)
    yield status
    status.dispose()


def _advisory_locks(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            # Only this test's database: other suites may share the server.
            query = (
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            return conn.execute(sa.text(query)).scalar_one()
    finally:
        engine.dispose()


def test_lifecycle_and_registry(store: StatusStore) -> None:
    assert not store.is_sqlite
    recorded = datetime(2026, 1, 3, 9, 30, tzinfo=UTC)
    assert store.register("s1", "ana", media_key="ana/s1/audio.wav", uploaded_at=recorded)
    assert not store.register("s1", "ana", media_key="ana/s1/audio.wav", uploaded_at=None)
    store.set_state("s1", SessionState.TRANSCRIBING, recorded_at=recorded)
    store.set_state("s1", SessionState.FAILED, error="audio.wav could not be decoded")
    failed = store.get("s1")
    assert failed is not None and failed.state is SessionState.FAILED and "decoded" in (failed.error or "")
    store.set_state("s1", SessionState.DONE)
    done = store.get("s1")
    assert done is not None and done.error is None and done.learner_id == "ana"
    assert (
        done.recorded_at == recorded and done.uploaded_at == recorded and done.updated_at.tzinfo is not None
    )
    store.set_state("s2", SessionState.ANALYZING, learner_id="ben")  # unknown sessions are created
    assert [s.session_id for s in store.list(learner_id="ben")] == ["s2"]
    assert [s.session_id for s in store.list(state=SessionState.DONE)] == ["s1"]


def test_two_stores_share_one_database(fresh_database: str, store: StatusStore) -> None:
    """The sensor (daemon) and each run worker open their own store: they must see each other's writes."""
    other = StatusStore(fresh_database)  # create_all again on existing tables: must be a no-op
    try:
        store.register("s1", "ana", media_key=None, uploaded_at=None)
        other.set_state("s1", SessionState.DONE)
        status = store.get("s1")
        assert status is not None and status.state is SessionState.DONE
    finally:
        other.dispose()


def test_learner_lock_serialises_across_connections(fresh_database: str, store: StatusStore) -> None:
    """Two stores (two pools, as in two run processes) contend for one learner's advisory lock."""
    other = StatusStore(fresh_database)
    events: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with store.locks.hold("ana"):
            events.append("first-in")
            first_in.set()
            time.sleep(0.5)
            store.set_state("a", SessionState.DONE, learner_id="ana")  # the store stays usable inside
            events.append("first-out")

    def second() -> None:
        first_in.wait(timeout=10)
        with other.locks.hold("ana"):
            events.append("second-in")

    try:
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        assert first_in.wait(timeout=10)
        time.sleep(0.2)
        assert _advisory_locks(fresh_database) >= 1, "the holder's lock is a PostgreSQL advisory lock"
        for thread in threads:
            thread.join(timeout=20)
        assert events == ["first-in", "first-out", "second-in"]
        assert _advisory_locks(fresh_database) == 0, "the transaction-scoped lock is released"
    finally:
        other.dispose()


def test_learner_lock_does_not_block_other_learners(fresh_database: str, store: StatusStore) -> None:
    other = StatusStore(fresh_database)
    acquired = threading.Event()

    def ben() -> None:
        with other.locks.hold("ben"):
            acquired.set()

    try:
        with store.locks.hold("ana"):
            thread = threading.Thread(target=ben)
            thread.start()
            assert acquired.wait(timeout=5), "ben's profile must not wait for ana's"
        thread.join(timeout=5)
    finally:
        other.dispose()


def test_upload_registry_and_rejections_on_postgres(store: StatusStore, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pipeline.intake.discovery import discover
    from pipeline.intake.registry import UploadRegistry
    from pipeline.intake.tick import DiscoveryCursor
    from pipeline.storage import LocalStorage

    uploads = LocalStorage(tmp_path / "uploads")
    for folder in ("ana/s1", "ana/" + "a" * 65, "bad learner/s1"):
        uploads.write_bytes(f"{folder}/transcript.txt", b"hello")
        uploads.write_bytes(f"{folder}/session.json", b"{}")
    registry = UploadRegistry(store.engine)
    first = discover(uploads, registry, store, DiscoveryCursor(), now=time.time(), quiet_seconds=10)
    assert [u.session_id for u in first.ready] == ["s1"]
    assert sorted(r.folder for r in store.rejections.list()) == ["ana/" + "a" * 65, "bad learner/s1"]
    lost = discover(uploads, registry, store, first.cursor, now=time.time(), quiet_seconds=10)
    assert lost.ready == [] and lost.rejected == []
    uploads.write_bytes("ana/s1/transcript.txt", b"hello again")
    later = discover(uploads, registry, store, lost.cursor, now=time.time() + 11, quiet_seconds=10)
    assert later.ready == []  # first seen just now: settles by the sensor's clock
    again = discover(uploads, registry, store, later.cursor, now=time.time() + 22, quiet_seconds=10)
    assert [(u.session_id, u.reupload) for u in again.ready] == [("s1", True)]
