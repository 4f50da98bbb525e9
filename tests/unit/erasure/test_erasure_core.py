"""Erasure in the core: a learner or one session leaves no byte in uploads, results or the status DB."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.domain.models import SessionState
from pipeline.erasure.memo_scan import holds_text
from pipeline.erasure.plan import ErasureBusy, ErasureTarget
from pipeline.erasure.run import erase
from pipeline.erasure.tokens import id_pattern
from pipeline.intake.registry import FolderRow, UploadRegistry
from pipeline.stages.insights import analyze_session
from pipeline.stages.pattern_profile import profile_session
from pipeline.stages.services import Services
from pipeline.stages.transcript import transcribe_session
from pipeline.status.store import StatusStore
from pipeline.storage import open_storage
from pipeline.views.io import load_inputs, read_view
from pipeline.views.refresh import write_cohort_patterns, write_learner_progress, write_pipeline_health
from tests.support.erasure import ANA, ANA_2, BOB, carriers
from tests.support.sessions import add_session


def _session(services: Services, uploads: Path, learner: str, session: str, text: str, day: int) -> None:
    add_session(
        uploads, learner, session, text=text, manifest=f'{{"recorded_at": "2026-01-0{day}T09:00:00Z"}}'
    )
    services.status.register(
        session, learner, media_key=f"{learner}/{session}/transcript.txt", uploaded_at=None
    )
    transcribe_session(services, session)
    analyze_session(services, session)
    profile_session(services, session)


def _views(services: Services) -> None:
    inputs = load_inputs(services.results, services.status)
    write_learner_progress(services.results, inputs)
    write_cohort_patterns(services.results, inputs)
    write_pipeline_health(services.results, inputs)


def test_erasing_a_learner_leaves_no_byte_and_keeps_the_others(
    services: Services, uploads_dir: Path, tmp_path: Path
) -> None:
    _session(services, uploads_dir, "annika", "ann-s1", ANA, 3)
    _session(services, uploads_dir, "annika", "ann-s2", ANA_2, 4)
    _session(services, uploads_dir, "bobby", "bob-s1", BOB, 3)
    add_session(
        uploads_dir, "annika", "ann-s3", audio="speech.wav"
    )  # a recording: a speech-to-text memo entry
    services.status.register("ann-s3", "annika", media_key="annika/ann-s3/audio.wav", uploaded_at=None)
    heard = transcribe_session(services, "ann-s3").text
    analyze_session(services, "ann-s3")
    profile_session(services, "ann-s3")
    add_session(uploads_dir, "annika", "bad name", text=ANA)  # a folder the sensor rejected
    services.status.rejections.record([("annika/bad name", "invalid session id")])
    UploadRegistry(services.status.engine).save(
        [FolderRow("annika/ann-s1", "annika", "ann-s1", "x", 1.0, 1.0, 1.0, True, content_version="sha256:1")]
    )
    # A per-request memo entry (an analysis part) found by its content: a verbatim piece of ann-s2's text.
    services.memo.stage("insights_parts").put("k" * 64, {"examples": ["It were very interesting"]})
    (uploads_dir / "annika" / "ann-s1" / ".session.json.swp").write_bytes(
        b"annika ann-s1"
    )  # hidden files go too
    _views(services)
    said = [heard[:24], heard[-24:]]  # what the recording says, as recognised
    assert carriers(tmp_path, ["annika", "ann-s1", "ann-s2", "ann-s3"], ["zanzibar", "quokka", *said])

    plan, report = erase(
        ErasureTarget(learner_id="annika"),
        uploads=services.uploads,
        results=services.results,
        status=services.status,
    )
    assert report.dry_run and plan.session_ids == {"ann-s1", "ann-s2", "ann-s3"}
    counts = report.counts
    assert counts["result_documents"] == 9 and counts["memo_entries"] == 5 and counts["rejections"] == 1
    assert counts["upload_objects"] == 9 and counts["registry_rows"] == 1
    assert services.status.get("ann-s1") is not None  # a dry run deletes nothing

    _, report = erase(
        ErasureTarget(learner_id="annika"),
        uploads=services.uploads,
        results=services.results,
        status=services.status,
        dry_run=False,
    )
    assert report.compacted and report.refreshed_views == [
        "learner_progress",
        "cohort_patterns",
        "pipeline_health",
    ]
    assert carriers(tmp_path, ["annika", "ann-s1", "ann-s2", "ann-s3"], ["zanzibar", "quokka", *said]) == []
    # Bob keeps everything, and the views (rewritten at once) still count him.
    assert services.status.get("bob-s1").state is SessionState.DONE
    assert services.results.exists("transcripts/bob-s1.json") and (uploads_dir / "bobby" / "bob-s1").is_dir()
    assert set(read_view(services.results, "learner_progress")["learner_id"]) == {"bobby"}
    assert services.status.rejections.list() == []

    _, again = erase(
        ErasureTarget(learner_id="annika"),
        uploads=services.uploads,
        results=services.results,
        status=services.status,
        dry_run=False,
    )
    assert not any(again.counts.values())  # idempotent: nothing left to find


def test_erasing_one_session_refreshes_later_snapshots_and_never_touches_a_longer_id(
    services: Services, uploads_dir: Path, tmp_path: Path
) -> None:
    _session(services, uploads_dir, "annika", "sess1", ANA, 3)
    _session(services, uploads_dir, "annika", "sess10", ANA_2, 4)
    _session(services, uploads_dir, "annika", "sess1-b", BOB, 5)
    _views(services)
    assert services.results.read_json("pattern_profiles/sess1-b.json")["session_ids"] == [
        "sess1",
        "sess10",
        "sess1-b",
    ]

    _, report = erase(
        ErasureTarget(session_id="sess1"),
        uploads=services.uploads,
        results=services.results,
        status=services.status,
        dry_run=False,
    )
    assert report.refreshed_snapshots == 2  # sess10's and sess1-b's snapshots counted sess1
    assert services.results.read_json("pattern_profiles/sess1-b.json")["session_ids"] == ["sess10", "sess1-b"]
    assert services.results.read_json("pattern_profiles/sess10.json")["sessions_count"] == 1
    assert carriers(tmp_path, ["sess1"], ["zanzibar"]) == []
    for kept in ("sess10", "sess1-b"):
        assert services.status.get(kept) is not None and services.results.exists(f"insights/{kept}.json")
    assert (uploads_dir / "annika" / "sess10").is_dir() and not (uploads_dir / "annika" / "sess1").exists()
    assert services.status.profiles.rows("annika")  # the learner stays
    assert set(read_view(services.results, "learner_progress")["learner_id"]) == {"annika"}


def test_a_session_id_another_learner_owns_stays_theirs(services: Services, uploads_dir: Path) -> None:
    _session(services, uploads_dir, "bobby", "shared1", BOB, 3)
    add_session(uploads_dir, "annika", "shared1", text=ANA)  # a collision: rejected, bobby owns shared1
    _, report = erase(
        ErasureTarget(learner_id="annika"),
        uploads=services.uploads,
        results=services.results,
        status=services.status,
        dry_run=False,
    )
    assert report.counts["sessions"] == 0 and not (uploads_dir / "annika").exists()
    assert services.status.get("shared1").learner_id == "bobby"
    assert services.results.exists("transcripts/shared1.json")
    add_session(uploads_dir, "annika", "shared1", text=ANA)
    erase(
        ErasureTarget(session_id="shared1"),
        uploads=services.uploads,
        results=services.results,
        status=services.status,
        dry_run=False,
    )
    assert services.status.get("shared1") is None and not (uploads_dir / "bobby" / "shared1").exists()
    assert (uploads_dir / "annika" / "shared1" / "transcript.txt").exists()  # not the owner's folder


def test_erasing_a_learner_on_s3_leaves_no_object_naming_them(s3_bucket, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from pipeline.providers.analysis.rules.analyzer import RuleBasedAnalyzer
    from pipeline.providers.speech_to_text.offline import FasterWhisperSpeechToText

    services = Services(
        uploads=open_storage(s3_bucket.uri("uploads"), s3_client=s3_bucket.client),
        results=open_storage(s3_bucket.uri("results"), s3_client=s3_bucket.client),
        status=StatusStore(f"sqlite:///{tmp_path}/status.db"),
        speech_to_text=FasterWhisperSpeechToText(),
        analyzer=RuleBasedAnalyzer(),
    )
    for learner, session, text in (("annika", "ann-s1", ANA), ("bobby", "bob-s1", BOB)):
        services.uploads.write_bytes(f"{learner}/{session}/transcript.txt", text.encode())
        services.uploads.write_bytes(f"{learner}/{session}/.session.json.partial", b"{}")  # hidden too
        services.status.register(
            session, learner, media_key=f"{learner}/{session}/transcript.txt", uploaded_at=None
        )
        transcribe_session(services, session)
        analyze_session(services, session)
        profile_session(services, session)
    _views(services)

    def naming_annika() -> list[str]:
        client, found = s3_bucket.client, []
        for item in client.list_objects_v2(Bucket=s3_bucket.name).get("Contents", []):
            data = (
                item["Key"].encode()
                + client.get_object(Bucket=s3_bucket.name, Key=item["Key"])["Body"].read()
            )
            if any(word in data for word in (b"annika", b"ann-s1", b"zanzibar")):
                found.append(item["Key"])
        return found

    assert naming_annika()
    erase(
        ErasureTarget(learner_id="annika"),
        uploads=services.uploads,
        results=services.results,
        status=services.status,
        dry_run=False,
    )
    assert naming_annika() == []
    assert services.results.exists("transcripts/bob-s1.json") and services.uploads.exists(
        "bobby/bob-s1/transcript.txt"
    )


def test_a_session_being_processed_is_not_erased(services: Services, uploads_dir: Path) -> None:
    add_session(uploads_dir, "annika", "ann-s1", text=ANA)
    services.status.set_state("ann-s1", SessionState.TRANSCRIBING, learner_id="annika")
    with pytest.raises(ErasureBusy, match="being transcribed or analysed"):
        erase(
            ErasureTarget(learner_id="annika"),
            uploads=services.uploads,
            results=services.results,
            status=services.status,
            dry_run=False,
        )
    assert (uploads_dir / "annika" / "ann-s1" / "transcript.txt").exists() and services.status.get("ann-s1")


def test_ids_match_as_whole_tokens_and_memo_pieces_by_content() -> None:
    pattern = id_pattern(["s1", "ana"])
    assert pattern is not None
    hits = ['"s1"', "ana/s1/audio.wav", "session s1: done", "s1"]
    misses = ["s10", "s1-old", "as1", "banana", "ana_2", "s1_b"]
    assert all(pattern.search(text) for text in hits) and not any(pattern.search(t) for t in misses)
    text = " ".join(ANA.split()).casefold()
    assert holds_text({"text": "the  Zanzibar market and I buy"}, [text])
    assert not holds_text({"pattern_id": "tense", "language": "en"}, [text])
    with pytest.raises(ValueError, match="either a learner or a session"):
        ErasureTarget()
