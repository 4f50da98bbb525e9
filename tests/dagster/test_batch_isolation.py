"""Batch runs under Dagster: every good session ends materialized, every bad one failed, retries are cheap."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from assets.partitions import RANGE_END, RANGE_START, sessions_partitions
from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.materialize import materialize_sessions, offline_assets, offline_resource
from tests.support.sessions import add_session

TEXT = (
    "Yesterday I go to the market and I buy a apple. She don't like the market. "
    "Um, it was very very good, you know. I think it was very nice."
)
ASSETS = ("transcript", "insights", "pattern_profile")


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def partition_status(instance: dg.DagsterInstance, asset: str, keys: list[str]) -> dict[str, str]:
    statuses = instance.get_status_by_partition(dg.AssetKey(asset), keys, sessions_partitions) or {}
    return {key: value.value if value else "MISSING" for key, value in statuses.items()}


def ten_sessions(uploads: Path, bad: str | None = None) -> list[str]:
    keys = []
    for i in range(10):
        key = f"k{i}"
        add_session(
            uploads,
            f"learner{i % 3}",
            key,
            text="" if key == bad else f"{TEXT} Session {i}.",
            manifest=f'{{"recorded_at": "2026-02-{i + 1:02d}T09:00:00Z"}}',
        )
        keys.append(key)
    return keys


def steps_started(result: dg.ExecuteInProcessResult) -> int:
    return sum(1 for e in result.all_events if e.event_type_value == "STEP_START")


def test_one_empty_transcript_fails_only_its_own_session(tmp_path: Path, uploads_dir: Path, instance) -> None:
    keys = ten_sessions(uploads_dir, bad="k3")
    [result] = materialize_sessions(instance, offline_resource(tmp_path, uploads_dir), keys, batch=True)
    assert not result.success and steps_started(result) == 1, "a permanent failure is not retried"
    good = [k for k in keys if k != "k3"]
    for asset in ASSETS:
        assert partition_status(instance, asset, keys) == {
            **{k: "MATERIALIZED" for k in good},
            "k3": "FAILED",
        }, asset
    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    assert {k: status.get(k).state for k in good} == {k: SessionState.DONE for k in good}
    failed = status.get("k3")
    assert (
        failed.state is SessionState.FAILED and "empty" in failed.error and failed.error_kind == "permanent"
    )
    for key in good:
        for folder in ("transcripts", "insights", "pattern_profiles"):
            assert (tmp_path / "results" / folder / f"{key}.json").exists()
    # Per-session metadata, not one set for the whole batch.
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("transcript"), asset_partitions=["k5"]), limit=1
    ).records
    assert records[0].asset_materialization.metadata["learner_id"].value == "learner2"


def test_reanalysis_with_one_missing_transcript_leaves_nine_consistent_profiles(
    tmp_path: Path, uploads_dir: Path, instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.domain.models import SessionInsights
    from pipeline.domain.snapshots import build_profile, pattern_counts
    from wiring.definitions import defs

    keys = ten_sessions(uploads_dir)
    resource = offline_resource(tmp_path, uploads_dir)
    [first] = materialize_sessions(instance, resource, keys, batch=True)
    assert first.success
    results = tmp_path / "results"
    (results / "transcripts" / "k4.json").unlink()
    # Analyses by an older prompt, stored (and indexed) as the pipeline stored them then.
    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    for key in keys:
        path = results / "insights" / f"{key}.json"
        doc = json.loads(path.read_text())
        doc["analysis"]["insights"][0] |= {"pattern_id": "other", "frequency": 99}
        doc["prompt_version"] = "old-prompt"
        path.write_text(json.dumps(doc))
        old = SessionInsights.model_validate(doc)
        status.profiles.save_counts(key, pattern_counts(old), old.recorded_at)
    monkeypatch.setenv("STT_PROVIDER", "offline")
    monkeypatch.setenv("ANALYZER_PROVIDER", "offline")
    job = defs().get_job_def("reanalysis_job")
    result = job.execute_in_process(
        instance=instance,
        resources={"pipeline": resource},
        tags={RANGE_START: "k0", RANGE_END: "k9"},
        raise_on_error=False,
    )
    assert not result.success
    good = [k for k in keys if k != "k4"]
    assert partition_status(instance, "insights", keys)["k4"] == "FAILED"
    docs = {
        k: SessionInsights.model_validate_json((results / "insights" / f"{k}.json").read_text()) for k in good
    }
    for key in good:
        assert docs[key].prompt_version != "old-prompt", f"{key} was not re-analysed"
        stored = json.loads((results / "pattern_profiles" / f"{key}.json").read_text())
        learner = docs[key].learner_id
        # k4 keeps its old (stored) insights, which are still part of its learner's history.
        history = [
            *docs.values(),
            SessionInsights.model_validate_json((results / "insights/k4.json").read_text()),
        ]
        expected = build_profile(learner, key, history).model_dump(mode="json")
        assert stored["patterns"] == expected["patterns"], f"profile {key} disagrees with the insights"
    assert "materialize transcript first" in StatusStore(f"sqlite:///{tmp_path}/status.db").get("k4").error


def test_reexecution_after_audio_deletion_ends_done_without_the_audio(
    tmp_path: Path, uploads_dir: Path, instance
) -> None:
    folder = add_session(uploads_dir, "ana", "a1", audio="speech.wav")
    resource = offline_resource(tmp_path, uploads_dir, audio_retention="delete_after_transcription")
    instance.add_dynamic_partitions("sessions", ["a1"])
    # The first run dies after transcription (here: only transcript was selected).
    first = dg.materialize(
        offline_assets(),
        instance=instance,
        resources={"pipeline": resource},
        partition_key="a1",
        selection=["transcript"],
    )
    assert first.success and not (folder / "audio.wav").exists()
    again = dg.materialize(
        offline_assets(), instance=instance, resources={"pipeline": resource}, partition_key="a1"
    )
    assert again.success
    assert StatusStore(f"sqlite:///{tmp_path}/status.db").get("a1").state is SessionState.DONE
    assert partition_status(instance, "pattern_profile", ["a1"]) == {"a1": "MATERIALIZED"}


def test_a_corrupt_stored_insights_document_fails_once_and_permanently(
    tmp_path: Path, uploads_dir: Path, instance
) -> None:
    keys = ten_sessions(uploads_dir)[:3]
    resource = offline_resource(tmp_path, uploads_dir)
    [first] = materialize_sessions(instance, resource, keys, batch=True)
    assert first.success
    (tmp_path / "results" / "insights" / "k1.json").write_text('{"session_id": "k1", "analysis": {"insig')
    result = dg.materialize(
        offline_assets(),
        instance=instance,
        resources={"pipeline": resource},
        selection=["pattern_profile"],
        tags={RANGE_START: "k0", RANGE_END: "k2"},
        raise_on_error=False,
    )
    assert not result.success and steps_started(result) == 1
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    description = failure.step_failure_data.user_failure_data.description
    assert "insights/k1.json is unreadable" in description and "delete it to recompute" in description
    assert partition_status(instance, "pattern_profile", keys) == {
        "k0": "MATERIALIZED",
        "k1": "FAILED",
        "k2": "MATERIALIZED",
    }


def test_a_retry_redoes_only_the_sessions_the_run_has_not_materialized(
    tmp_path: Path, uploads_dir: Path, instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assets.sessions import build_session_assets
    from pipeline.config.settings import Settings
    from pipeline.providers.plan import provider_plan
    from tests.support.fake_api import FakeAPI

    keys = ten_sessions(uploads_dir)[:4]
    monkeypatch.setenv("PROVIDER_MAX_RETRIES", "0")
    monkeypatch.setenv("RUN_CONCURRENCY", "1")  # sessions one at a time: the 500 goes to k0's analysis
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-key")
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "anthropic-config"))
    with FakeAPI() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.anthropic_base_url)
        fake.push("500")  # the first analysis fails transiently, once
        plan = provider_plan(
            Settings(stt_provider="offline", analyzer_provider="anthropic"),
            openai_key=None,
            anthropic_key="sk-test-key",
        )
        assets = build_session_assets(plan, retry=dg.RetryPolicy(max_retries=2, delay=0))
        instance.add_dynamic_partitions("sessions", keys)
        resource = offline_resource(tmp_path, uploads_dir, analyzer_provider="anthropic")
        result = dg.materialize(
            assets,
            instance=instance,
            resources={"pipeline": resource},
            tags={
                RANGE_START: keys[0],
                RANGE_END: keys[-1],
            },
        )
        retried = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        assert result.success and len(retried) == 1
        assert fake.paid_calls == len(keys), "no session's analysis is paid for twice"
    for asset in ASSETS:
        materialized = [
            e.event_specific_data.materialization
            for e in result.all_events
            if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key == dg.AssetKey(asset)
        ]
        own = sorted(m.partition for m in materialized if "refreshed_after" not in m.metadata)
        assert own == sorted(keys), f"{asset}: each session materialized once by its own stage"
    # k0 (learner0) came in on the retry, before k3 of the same learner: k3's snapshot was refreshed.
    refreshed = [m for m in materialized if "refreshed_after" in m.metadata]
    assert [(m.partition, m.metadata["refreshed_after"].value) for m in refreshed] == [("k3", "k0")]
