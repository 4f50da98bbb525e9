"""The stages and discovery on S3 (a real moto server): results round-trip, audio deletion, listing ticks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipeline.domain.errors import PermanentError
from pipeline.domain.models import PatternProfile, SessionState
from pipeline.intake.discovery import discover
from pipeline.intake.registry import UploadRegistry
from pipeline.intake.tick import DiscoveryCursor
from pipeline.providers.analysis.rules.analyzer import RuleBasedAnalyzer
from pipeline.providers.speech_to_text.offline import FasterWhisperSpeechToText
from pipeline.stages.insights import analyze_session
from pipeline.stages.pattern_profile import profile_session
from pipeline.stages.services import Services
from pipeline.stages.transcript import transcribe_session
from pipeline.status.store import StatusStore
from pipeline.storage import open_storage
from tests.support.sessions import AUDIO

TEXT = b"Yesterday I go to the market and I buy a apple. Um, it was very very good, you know."


@pytest.fixture
def s3_services(s3_bucket, tmp_path: Path) -> Services:
    return Services(
        uploads=open_storage(s3_bucket.uri("uploads"), s3_client=s3_bucket.client),
        results=open_storage(s3_bucket.uri("results"), s3_client=s3_bucket.client),
        status=StatusStore(f"sqlite:///{tmp_path}/status.db"),
        speech_to_text=FasterWhisperSpeechToText(),
        analyzer=RuleBasedAnalyzer(),
        audio_retention="delete_after_transcription",
    )


def test_audio_session_on_s3_runs_every_stage_and_deletes_the_audio(s3_services: Services) -> None:
    uploads = s3_services.uploads
    uploads.write_bytes("ana/s3a/audio.ogg", (AUDIO / "speech.ogg").read_bytes())
    uploads.write_bytes("ana/s3a/session.json", b'{"recorded_at": "2026-01-05T10:00:00Z"}')
    transcript = transcribe_session(s3_services, "s3a")
    assert transcript.provider == "faster-whisper" and transcript.audio_deleted_at is not None
    assert not uploads.exists("ana/s3a/audio.ogg") and uploads.exists("ana/s3a/session.json")
    analyze_session(s3_services, "s3a")
    profile, _ = profile_session(s3_services, "s3a")
    stored = s3_services.results.read_model("pattern_profiles/s3a.json", PatternProfile)
    assert stored.session_ids == profile.session_ids == ["s3a"]
    assert s3_services.status.get("s3a").state is SessionState.DONE
    assert transcribe_session(s3_services, "s3a") == transcript  # re-execution: no audio needed
    s3_services.speech_to_text.model = "another-model"  # a new plan needs the recording, which is gone
    with pytest.raises(PermanentError, match="audio was deleted after transcription"):
        transcribe_session(s3_services, "s3a")


def test_listing_ticks_on_s3_find_new_sessions_and_survive_deletes_and_reuploads(
    s3_services: Services,
) -> None:
    uploads, status = s3_services.uploads, s3_services.status
    registry = UploadRegistry(status.engine)

    def tick(cursor: DiscoveryCursor, later: float = 0.0):
        return discover(uploads, registry, status, cursor, now=time.time() + later, quiet_seconds=10)

    for i in range(30):
        uploads.write_bytes(f"ben/old{i}/transcript.txt", TEXT)
        uploads.write_bytes(f"ben/old{i}/session.json", b"{}")
    first = tick(DiscoveryCursor())
    assert len(first.ready) == 30 and first.listings == 1
    uploads.delete("ben/old0/transcript.txt")  # processed, then its media removed: nothing to do
    uploads.write_bytes("ben/old1/transcript.txt", TEXT + b" Again.")  # a re-upload: a new ETag
    uploads.write_bytes("ben/old2/transcript.txt", TEXT)  # the same bytes: the same ETag
    uploads.write_bytes("ana/new1/transcript.txt", TEXT)
    uploads.write_bytes("ana/new1/session.json", b"{}")
    second = tick(first.cursor)
    assert [u.session_id for u in second.ready] == ["new1"] and second.waiting == 1  # old1 settles
    third = tick(second.cursor, later=11)
    assert [(u.session_id, u.reupload) for u in third.ready] == [("old1", True)]
    assert tick(third.cursor, later=11).ready == []
