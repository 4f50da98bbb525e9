"""The session status store on SQLite: lifecycle, registry, listing and the learner lock."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pipeline.domain.errors import failure_kind
from pipeline.domain.models import SessionState
from pipeline.stages.lifecycle import tracked
from pipeline.status.store import StatusStore


def test_register_then_lifecycle(tmp_path: Path) -> None:
    store = StatusStore(f"sqlite:///{tmp_path}/status.db")
    assert store.register("s1", "ana", media_key="ana/s1/audio.wav", uploaded_at=None)
    assert not store.register("s1", "ana", media_key="ana/s1/audio.wav", uploaded_at=None)
    assert store.get("s1").state is SessionState.UPLOADED
    store.set_state("s1", SessionState.TRANSCRIBING)
    store.set_state("s1", SessionState.FAILED, error="audio.wav could not be decoded")
    failed = store.get("s1")
    assert failed.state is SessionState.FAILED and "decoded" in failed.error and failed.learner_id == "ana"
    store.set_state("s1", SessionState.DONE)
    assert store.get("s1").error is None
    assert store.get("s1").updated_at.tzinfo is not None


def test_set_state_creates_unknown_sessions_and_lists_by_learner(tmp_path: Path) -> None:
    store = StatusStore(f"sqlite:///{tmp_path}/status.db")
    store.set_state("s2", SessionState.ANALYZING, learner_id="ben")
    store.register("s1", "ana", media_key=None, uploaded_at=None)
    assert [s.session_id for s in store.list(learner_id="ben")] == ["s2"]
    assert [s.session_id for s in store.list(state=SessionState.UPLOADED)] == ["s1"]


def test_an_interrupted_stage_leaves_the_session_failed_with_a_reason_a_user_can_act_on(
    tmp_path: Path,
) -> None:
    store = StatusStore(f"sqlite:///{tmp_path}/status.db")
    with pytest.raises(KeyboardInterrupt), tracked(store, "s1", SessionState.ANALYZING):
        raise KeyboardInterrupt  # what a terminated run's worker raises mid-stage (as Dagster's own interrupt)
    stopped = store.get("s1")
    assert stopped.state is SessionState.FAILED and stopped.error.startswith(
        "interrupted: the run was terminated"
    )
    assert "re-materialize" in stopped.error and failure_kind(KeyboardInterrupt()) == "transient"


def test_status_survives_a_new_store_instance(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/status.db"
    StatusStore(url).set_state("s1", SessionState.DONE, learner_id="ana")
    assert StatusStore(url).get("s1").state is SessionState.DONE


def test_learner_lock_serialises_holders(tmp_path: Path) -> None:
    store = StatusStore(f"sqlite:///{tmp_path}/status.db")
    events: list[str] = []

    def hold(name: str) -> None:
        with store.locks.hold("ana"):
            events.append(f"{name}-in")
            time.sleep(0.1)
            store.set_state(name, SessionState.DONE, learner_id="ana")  # the store stays usable inside
            events.append(f"{name}-out")

    threads = [threading.Thread(target=hold, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert events[0].endswith("-in") and events[1] == events[0].replace("-in", "-out")


def test_status_cli_lists_failed_sessions_with_their_error(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from pipeline.status.cli import main

    url = f"sqlite:///{tmp_path}/status.db"
    store = StatusStore(url)
    store.set_state("ok1", SessionState.DONE, learner_id="ana")
    store.set_state("bad1", SessionState.FAILED, learner_id="ana", error="audio.wav could not be decoded")
    monkeypatch.setenv("STATUS_DB_URL", url)
    assert main(["--state", "FAILED"]) == 0
    out = capsys.readouterr().out
    assert "bad1" in out and "could not be decoded" in out and "ok1" not in out


def test_status_cli_lists_rejected_folders_as_uploaded(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from pipeline.status.cli import main

    url = f"sqlite:///{tmp_path}/status.db"
    store = StatusStore(url)
    store.set_state("s42", SessionState.DONE, learner_id="ana")
    long_id = "a" * 65
    store.rejections.record(
        [("bad learner/s42", "invalid learner id 'bad learner'"), (f"ana/{long_id}", "invalid session id")]
    )
    monkeypatch.setenv("STATUS_DB_URL", url)
    assert main([]) == 0
    out = capsys.readouterr().out
    assert (
        "rejected uploads" in out
        and "bad learner/s42/  invalid learner id" in out
        and f"ana/{long_id}/" in out
    )
    assert main(["--rejected"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("rejected uploads") and lines[1].startswith("ana/" + long_id)
    assert store.get("s42").state is SessionState.DONE


def test_a_reupload_whose_new_run_dies_before_its_step_is_failed_by_that_run(tmp_path: Path) -> None:
    """A re-upload forgets the old run, so the failure/cancel sensors of the new run can close it."""
    from pipeline.stages.lifecycle import fail_unfinished

    store = StatusStore(f"sqlite:///{tmp_path}/status.db")
    store.register("s1", "ana", media_key="ana/s1/audio.wav", uploaded_at=None, version="v1")
    store.set_state("s1", SessionState.DONE, run_id="old-run")
    assert store.register("s1", "ana", media_key="ana/s1/audio.wav", uploaded_at=None, version="v2")
    assert store.get("s1").run_id is None
    assert fail_unfinished(store, ["s1"], "new-run", "terminated while queued") == ["s1"]
    closed = store.get("s1")
    assert closed.state is SessionState.FAILED and closed.run_id == "new-run"


def test_status_cli_has_a_header_says_when_nothing_is_rejected_and_speaks_json(  # type: ignore[no-untyped-def]
    tmp_path: Path, monkeypatch, capsys
) -> None:
    import json

    from pipeline.status.cli import main

    url = f"sqlite:///{tmp_path}/status.db"
    store = StatusStore(url)
    store.set_state("s1", SessionState.FAILED, learner_id="ana", error="audio.wav could not be decoded")
    monkeypatch.setenv("STATUS_DB_URL", url)
    assert main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["SESSION", "LEARNER", "STATE", "UPDATED"]
    assert lines[1].startswith("s1") and lines[-1] == "no rejected uploads"
    assert main(["--rejected"]) == 0
    assert capsys.readouterr().out == "no rejected uploads\n"
    store.rejections.record([("bad learner/s2", "invalid learner id 'bad learner'")])
    assert main(["--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [s["session_id"] for s in document["sessions"]] == ["s1"]
    assert document["sessions"][0]["state"] == "FAILED" and document["sessions"][0]["error_kind"] is None
    assert [r["folder"] for r in document["rejected_uploads"]] == ["bad learner/s2"]
    store.dispose()
