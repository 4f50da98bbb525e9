"""The three session assets under Dagster: results, statuses, metadata, failures and batch runs."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.materialize import materialize_sessions, offline_assets, offline_resource
from tests.support.sessions import add_session

TEXT = (
    "Yesterday I go to the market and I buy a apple. She don't like the market. "
    "Um, it was very very good, you know. I think it was very nice."
)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def latest_metadata(instance: dg.DagsterInstance, asset: str, key: str) -> dict:
    event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[key]), limit=1
    ).records
    assert event is not None and records, f"{asset}/{key} was not materialized"
    return records[0].asset_materialization.metadata


def test_text_session_materializes_all_three_assets(tmp_path: Path, uploads_dir: Path, instance) -> None:
    add_session(uploads_dir, "ana", "s1", text=TEXT, manifest='{"recorded_at": "2026-01-03T09:00:00Z"}')
    resource = offline_resource(tmp_path, uploads_dir)
    [result] = materialize_sessions(instance, resource, ["s1"])
    assert result.success
    results = tmp_path / "results"
    transcript = json.loads((results / "transcripts/s1.json").read_text())
    assert transcript["word_count"] == len(TEXT.split()) and transcript["learner_id"] == "ana"
    insights = json.loads((results / "insights/s1.json").read_text())
    assert 1 <= len(insights["analysis"]["insights"]) <= 5
    for insight in insights["analysis"]["insights"]:
        assert all(example in TEXT for example in insight["examples"])
    profile = json.loads((results / "pattern_profiles/s1.json").read_text())
    assert profile["session_ids"] == ["s1"]
    assert StatusStore(f"sqlite:///{tmp_path}/status.db").get("s1").state is SessionState.DONE
    meta = latest_metadata(instance, "insights", "s1")
    assert "insights" in meta and meta["provider"].value == "rules"
    profile_meta = latest_metadata(instance, "pattern_profile", "s1")
    assert "top_patterns" in profile_meta and profile_meta["session_status"].value == "DONE"
    columns = [c.name for c in profile_meta["top_patterns"].schema.columns]
    assert "vs_previous_session" in columns and "trend" not in columns  # not learner_progress' trend
    transcript_meta = latest_metadata(instance, "transcript", "s1")
    assert transcript_meta["word_count"].value == len(TEXT.split())
    assert transcript_meta["duration_seconds"].value is None  # a text upload has no duration: null, not 0
    assert transcript_meta["words_per_minute"].value is None
    tags = instance.get_run_by_id(result.run_id).tags  # the run says what it asked of the providers
    assert tags["provider/provider_calls"] == "0" and tags["provider/rate_limited"] == "0"
    assert "provider/budget_wait_seconds" in tags


def test_audio_session_is_transcribed_offline(tmp_path: Path, uploads_dir: Path, instance) -> None:
    add_session(uploads_dir, "ana", "a1", audio="speech.webm")
    [result] = materialize_sessions(instance, offline_resource(tmp_path, uploads_dir), ["a1"])
    assert result.success
    transcript = json.loads((tmp_path / "results/transcripts/a1.json").read_text())
    assert transcript["provider"] == "faster-whisper" and transcript["source"] == "audio"
    assert transcript["duration_seconds"] > 1 and transcript["word_count"] > 2
    assert transcript["segments"] and transcript["quality"]["truncated"] is False
    meta = latest_metadata(instance, "transcript", "a1")
    assert meta["quality_flags"].value == "ok" and meta["speech_ratio"].value > 0.7


def test_a_truncated_upload_is_flagged_in_the_transcript_metadata(
    tmp_path: Path, uploads_dir: Path, instance
) -> None:
    add_session(uploads_dir, "ana", "cut1", audio="truncated.webm")
    [result] = materialize_sessions(instance, offline_resource(tmp_path, uploads_dir), ["cut1"])
    assert result.success  # what did arrive is analysed; the flag says it is not the whole recording
    meta = latest_metadata(instance, "transcript", "cut1")
    assert meta["quality_flags"].value.startswith("truncated: the file declares 16.1 s but only 7.8 s decode")
    assert (
        meta["truncated"].value is True and meta["declared_seconds"].value > 2 * meta["decoded_seconds"].value
    )


def test_corrupt_audio_fails_once_without_retries_and_is_marked_failed(
    tmp_path: Path, uploads_dir: Path, instance
) -> None:
    add_session(uploads_dir, "ana", "bad", audio="corrupt.wav")
    [result] = materialize_sessions(instance, offline_resource(tmp_path, uploads_dir), ["bad"])
    assert not result.success
    starts = [e for e in result.all_events if e.event_type_value == "STEP_START"]
    assert len(starts) == 1, "a permanent failure must not be retried"
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "could not be decoded" in failure.step_failure_data.user_failure_data.description
    status = StatusStore(f"sqlite:///{tmp_path}/status.db").get("bad")
    assert status.state is SessionState.FAILED and "could not be decoded" in status.error


def test_batch_run_processes_every_session_and_names_the_bad_one(
    tmp_path: Path, uploads_dir: Path, instance
) -> None:
    add_session(uploads_dir, "ana", "b1", text=TEXT, manifest='{"recorded_at": "2026-01-01T00:00:00Z"}')
    add_session(uploads_dir, "ana", "b2", text="", manifest='{"recorded_at": "2026-01-02T00:00:00Z"}')
    add_session(uploads_dir, "ben", "b3", text=TEXT, manifest='{"recorded_at": "2026-01-03T00:00:00Z"}')
    [result] = materialize_sessions(
        instance, offline_resource(tmp_path, uploads_dir), ["b1", "b2", "b3"], batch=True
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    description = failure.step_failure_data.user_failure_data.description
    assert "1 of 3 session(s)" in description and "b2" in description and "empty" in description
    # The good sessions of the batch were still transcribed and stored.
    assert (tmp_path / "results/transcripts/b1.json").exists()
    assert (tmp_path / "results/transcripts/b3.json").exists()


def test_batch_run_of_good_sessions_materializes_every_partition(
    tmp_path: Path, uploads_dir: Path, instance
) -> None:
    for i in range(3):
        add_session(
            uploads_dir,
            "ana",
            f"g{i}",
            text=TEXT,
            manifest=f'{{"recorded_at": "2026-01-0{i + 1}T00:00:00Z"}}',
        )
    [result] = materialize_sessions(
        instance, offline_resource(tmp_path, uploads_dir), ["g0", "g1", "g2"], batch=True
    )
    assert result.success
    materialized = instance.get_materialized_partitions(dg.AssetKey("pattern_profile"))
    assert materialized == {"g0", "g1", "g2"}
    last = json.loads((tmp_path / "results/pattern_profiles/g2.json").read_text())
    assert last["session_ids"] == ["g0", "g1", "g2"]


def test_a_changed_early_analysis_refreshes_only_the_later_snapshots_that_change(
    tmp_path: Path, uploads_dir: Path, instance
) -> None:
    for i in range(3):
        add_session(
            uploads_dir,
            "ana",
            f"r{i}",
            text=TEXT,
            manifest=f'{{"recorded_at": "2026-01-0{i + 1}T00:00:00Z"}}',
        )
    resource = offline_resource(tmp_path, uploads_dir)
    assert all(r.success for r in materialize_sessions(instance, resource, ["r0", "r1", "r2"]))

    def profiled(result) -> list[str]:  # type: ignore[no-untyped-def]
        return sorted(
            e.event_specific_data.materialization.partition
            for e in result.all_events
            if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key == dg.AssetKey("pattern_profile")
        )

    [same] = materialize_sessions(instance, resource, ["r0"])
    assert same.success and profiled(same) == ["r0"], "nothing changed: no later snapshot is rewritten"
    doc = json.loads((tmp_path / "results/insights/r0.json").read_text())
    doc["analysis"]["insights"][0] |= {"pattern_id": "grammar.word_order", "frequency": 7}
    (tmp_path / "results/insights/r0.json").write_text(json.dumps(doc))
    again = dg.materialize(
        offline_assets(),
        instance=instance,
        resources={"pipeline": resource},
        partition_key="r0",
        selection=["pattern_profile"],
    )
    assert again.success and profiled(again) == ["r0", "r1", "r2"]
    assert latest_metadata(instance, "pattern_profile", "r2")["refreshed_after"].value == "r0"
    last = json.loads((tmp_path / "results/pattern_profiles/r2.json").read_text())
    assert any(p["pattern_id"] == "grammar.word_order" for p in last["patterns"])
