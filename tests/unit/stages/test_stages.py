"""The core stages without Dagster: transcript, insights, profile, memoization, retention, consistency."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.domain.errors import PermanentError
from pipeline.domain.models import SessionState
from pipeline.stages.insights import analyze_session
from pipeline.stages.pattern_profile import profile_session
from pipeline.stages.services import Services
from pipeline.stages.transcript import transcribe_session
from tests.support.sessions import add_session

TEXT = (
    "Yesterday I go to the market and I buy a apple. Um, it was very very good, you know. She don't like it."
)


class Counting:
    """Wraps a real provider to count the calls that would be paid for."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.calls = inner, 0
        self.name, self.model = inner.name, inner.model
        self.prompt_version = getattr(inner, "prompt_version", "")

    def transcribe(self, audio, *, language):  # type: ignore[no-untyped-def]
        self.calls += 1
        return self.inner.transcribe(audio, language=language)

    def analyze(self, text, *, language="en"):  # type: ignore[no-untyped-def]
        self.calls += 1
        return self.inner.analyze(text, language=language)


def full(services: Services, session_id: str):  # type: ignore[no-untyped-def]
    transcribe_session(services, session_id)
    analyze_session(services, session_id)
    return profile_session(services, session_id)


def test_text_session_goes_through_every_stage(services: Services, uploads_dir: Path) -> None:
    add_session(
        uploads_dir, "ana", "s1", text=TEXT, manifest='{"recorded_at": "2026-01-03T09:00:00Z", "topic": "x"}'
    )
    services.status.register("s1", "ana", media_key="ana/s1/transcript.txt", uploaded_at=None)
    profile, refreshed = full(services, "s1")
    assert services.status.get("s1").state is SessionState.DONE and refreshed == []
    transcript = services.results.read_json("transcripts/s1.json")
    assert (
        transcript["source"] == "text"
        and transcript["topic"] == "x"
        and transcript["duration_seconds"] is None
    )
    assert profile.session_ids == ["s1"] and profile.as_of.isoformat().startswith("2026-01-03")


def test_unregistered_session_is_found_by_listing(services: Services, uploads_dir: Path) -> None:
    add_session(uploads_dir, "ben", "s7", text=TEXT)
    assert transcribe_session(services, "s7").learner_id == "ben"
    assert services.status.get("s7").learner_id == "ben"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"audio": "corrupt.wav"}, "could not be decoded"),
        ({"text": ""}, "empty"),
        ({"text": TEXT, "manifest": '{"recorded_at": 5, "language": "english!"}'}, "session.json"),
        ({"manifest": "{}"}, "no audio"),
    ],
)
def test_bad_input_fails_permanently_with_a_message_and_status(
    services: Services, uploads_dir: Path, files: dict, message: str
) -> None:
    add_session(uploads_dir, "ana", "bad", **files)
    with pytest.raises(PermanentError, match=message):
        transcribe_session(services, "bad")
    status = services.status.get("bad")
    assert status.state is SessionState.FAILED and message in status.error


def test_non_utf8_transcript_is_rejected(services: Services, uploads_dir: Path) -> None:
    folder = add_session(uploads_dir, "ana", "latin", text="x")
    (folder / "transcript.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(PermanentError, match="not UTF-8"):
        transcribe_session(services, "latin")


def test_invalid_session_id_is_rejected_before_any_work(services: Services) -> None:
    with pytest.raises(PermanentError, match="invalid session id"):
        transcribe_session(services, "../etc")


def test_provider_results_are_memoized_across_reruns(services: Services, uploads_dir: Path) -> None:
    stt, analyzer = Counting(services.speech_to_text), Counting(services.analyzer)
    services = replace(services, speech_to_text=stt, analyzer=analyzer)
    add_session(uploads_dir, "ana", "a1", audio="speech.wav")
    first = transcribe_session(services, "a1")
    analyze_session(services, "a1")
    again = transcribe_session(services, "a1")  # a retry or re-execution
    analyze_session(services, "a1")
    assert (stt.calls, analyzer.calls) == (1, 1)
    assert again.text == first.text and again.duration_seconds == pytest.approx(first.duration_seconds)
    assert first.words_per_minute and first.words_per_minute > 0


def test_delete_after_transcription_keeps_reexecution_free_and_blocks_only_a_new_plan(
    services: Services, uploads_dir: Path
) -> None:
    stt = Counting(services.speech_to_text)
    services = replace(services, audio_retention="delete_after_transcription", speech_to_text=stt)
    folder = add_session(uploads_dir, "ana", "a2", audio="speech.flac")
    services.status.register("a2", "ana", media_key="ana/a2/audio.flac", uploaded_at=None)
    transcript = transcribe_session(services, "a2")
    assert transcript.audio_deleted_at is not None and not (folder / "audio.flac").exists()
    assert services.results.read_json("transcripts/a2.json")["audio_deleted_at"]
    # A retry or re-execution: the stored transcript stands, no audio needed, nothing paid.
    again = transcribe_session(services, "a2")
    assert again == transcript and stt.calls == 1
    # Another speech-to-text model needs the recording, which is gone: a clear permanent failure.
    stt.model = "another-model"
    with pytest.raises(PermanentError, match="audio was deleted after transcription"):
        transcribe_session(services, "a2")
    analyze_session(services, "a2")  # insights and profile still backfill from the stored transcript
    profile, _ = profile_session(services, "a2")
    assert profile.session_ids == ["a2"]


def test_reexecution_reuses_stored_results_and_a_changed_upload_is_redone(
    services: Services, uploads_dir: Path
) -> None:
    stt, analyzer = Counting(services.speech_to_text), Counting(services.analyzer)
    services = replace(services, speech_to_text=stt, analyzer=analyzer)
    folder = add_session(uploads_dir, "ana", "r1", text=TEXT)
    first = full(services, "r1")[0]
    first_input = services.results.read_json("transcripts/r1.json")["input_sha256"]
    again = full(services, "r1")[0]
    assert analyzer.calls == 1 and first.patterns == again.patterns
    (folder / "transcript.txt").write_text(TEXT + " I have went there yesterday.")
    transcript = transcribe_session(services, "r1")
    assert transcript.text.endswith("yesterday.")
    redone = analyze_session(services, "r1")
    assert analyzer.calls == 2 and redone.transcript_sha256 == transcript.input_sha256 != first_input


def test_backfilling_an_early_session_leaves_every_later_snapshot_consistent(
    services: Services, uploads_dir: Path
) -> None:
    days = {"e1": "01", "e2": "05", "e3": "09"}
    for session, day in days.items():
        add_session(
            uploads_dir, "ana", session, text=TEXT, manifest=f'{{"recorded_at": "2026-01-{day}T00:00:00Z"}}'
        )
        services.status.register(session, "ana", media_key=None, uploaded_at=None)
    for session in ["e3", "e1", "e2"]:  # out of order, as concurrent runs may finish
        full(services, session)
    # A changed analysis of e1 (e.g. a new prompt) is backfilled: insights, then pattern_profile.
    doc = services.results.read_json("insights/e1.json")
    doc["analysis"]["insights"] = [
        doc["analysis"]["insights"][0] | {"pattern_id": "grammar.word_order", "frequency": 7}
    ]
    services.results.write_json("insights/e1.json", doc)
    _, refreshed = profile_session(services, "e1")
    assert refreshed == ["e2", "e3"]
    for session in days:
        stored = services.results.read_json(f"pattern_profiles/{session}.json")
        recomputed = profile_session(services, session)[0].model_dump(mode="json")
        assert json.dumps(stored["patterns"]) == json.dumps(recomputed["patterns"])
    last = services.results.read_json("pattern_profiles/e3.json")
    assert last["session_ids"] == ["e1", "e2", "e3"]
    word_order = next(p for p in last["patterns"] if p["pattern_id"] == "grammar.word_order")
    assert word_order["total_frequency"] == 7 and word_order["sessions"] == 1


def test_stale_lists_sessions_analysed_with_another_prompt_or_model(
    services: Services, uploads_dir: Path
) -> None:
    from pipeline.config.settings import Settings
    from pipeline.providers.plan import provider_plan
    from pipeline.stale import stale_sessions

    for session in ("n1", "n2"):
        add_session(uploads_dir, "ana", session, text=TEXT)
        transcribe_session(services, session)
        analyze_session(services, session)
    plan = provider_plan(Settings(analyzer_provider="offline"), openai_key=None, anthropic_key=None)
    assert list(stale_sessions(services.results, plan)) == []
    doc = services.results.read_json("insights/n2.json")
    services.results.write_json("insights/n2.json", doc | {"prompt_version": "rules-v0"})
    assert list(stale_sessions(services.results, plan)) == ["n2"]


def test_empty_audio_file_fails_permanently_before_any_recognition(
    services: Services, uploads_dir: Path
) -> None:
    folder = add_session(uploads_dir, "ana", "silent0", manifest="{}")
    (folder / "audio.wav").write_bytes(b"")
    with pytest.raises(PermanentError, match=r"audio.wav of session silent0 is empty \(0 bytes\)"):
        transcribe_session(services, "silent0")


def test_a_reupload_with_other_bytes_but_the_old_size_and_mtime_is_transcribed_again(
    services: Services, uploads_dir: Path
) -> None:
    import hashlib
    import os

    folder = add_session(
        uploads_dir, "ana", "re1", text="I goes home.", manifest='{"recorded_at": "2026-03-01T10:00:00Z"}'
    )
    media = folder / "transcript.txt"
    services.status.register(
        "re1",
        "ana",
        media_key="ana/re1/transcript.txt",
        uploaded_at=None,
        version="sha256:" + hashlib.sha256(media.read_bytes()).hexdigest(),
    )
    first = transcribe_session(services, "re1")
    full(services, "re1")
    stamp = media.stat().st_mtime
    media.write_text("I went home.")  # same size, restored mtime: `cp -p` of a corrected file
    os.utime(media, (stamp, stamp))
    new_version = "sha256:" + hashlib.sha256(b"I went home.").hexdigest()
    assert services.status.register(
        "re1", "ana", media_key="ana/re1/transcript.txt", uploaded_at=None, version=new_version
    )  # what the sensor does for the new version
    second = transcribe_session(services, "re1")
    assert second.text == "I went home." and first.text == "I goes home."
    insights = analyze_session(services, "re1")
    assert insights.transcript_sha256 == hashlib.sha256(b"I went home.").hexdigest()
    profile, _ = profile_session(services, "re1")
    row = services.status.get("re1")
    assert (row.state, row.result_version, row.upload_version) == (
        SessionState.DONE,
        new_version,
        new_version,
    )
    assert transcribe_session(services, "re1") == second  # the same version again: reused


def test_a_reupload_that_moves_a_session_later_rewrites_the_snapshots_it_left(
    services: Services, uploads_dir: Path
) -> None:
    """Issue 18 item 2: a's new position is after c, but b and c still counted a's old version."""
    days = {"m1": "01", "m2": "05", "m3": "09"}
    for session, day in days.items():
        add_session(
            uploads_dir, "ana", session, text=TEXT, manifest=f'{{"recorded_at": "2026-01-{day}T00:00:00Z"}}'
        )
        services.status.register(session, "ana", media_key=None, uploaded_at=None)
        full(services, session)
    # m1 re-analysed from a re-upload without recorded_at: its time is now the media's mtime, after m3.
    doc = services.results.read_json("insights/m1.json")
    doc["recorded_at"] = "2026-02-01T00:00:00Z"
    doc["analysis"]["insights"] = [
        doc["analysis"]["insights"][0] | {"pattern_id": "grammar.word_order", "frequency": 7}
    ]
    services.results.write_json("insights/m1.json", doc)
    _, refreshed = profile_session(services, "m1")
    assert refreshed == ["m2", "m3"]
    stored = {s: services.results.read_json(f"pattern_profiles/{s}.json") for s in days}
    assert stored["m2"]["session_ids"] == ["m2"] and stored["m3"]["session_ids"] == ["m2", "m3"]
    assert stored["m1"]["session_ids"] == ["m2", "m3", "m1"]
    for session in days:
        recomputed = profile_session(services, session)[0].model_dump(mode="json")
        assert json.dumps(stored[session]["patterns"]) == json.dumps(recomputed["patterns"]), session
