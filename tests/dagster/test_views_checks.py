"""Views and session checks under Dagster: metadata with schema and PNG, checks passing and failing with reasons."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from assets.metadata import insights_metadata, transcript_metadata
from assets.partitions import RANGE_END, RANGE_START
from assets.views import VIEWS_GROUP, view_assets
from pipeline.domain.models import SessionAnalysis, SessionInsights, Transcript
from tests.support.documents import insight
from tests.support.materialize import materialize_sessions, offline_assets, offline_resource
from tests.support.sessions import add_session

TEXT = (
    "Yesterday I go to the market and I buy a apple. She don't like the market. "
    "Um, it was very very good, you know. I think it was very nice."
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def processed(tmp_path: Path, uploads_dir: Path, instance):
    """Three text sessions of two learners, processed the sensor's way (one run each)."""
    for learner, session, day in (("ana", "a1", 3), ("ana", "a2", 10), ("ben", "b1", 5)):
        add_session(
            uploads_dir,
            learner,
            session,
            text=TEXT,
            manifest=f'{{"recorded_at": "2026-01-{day:02d}T09:00:00Z"}}',
        )
    resource = offline_resource(tmp_path, uploads_dir)
    results = materialize_sessions(instance, resource, ["a1", "a2", "b1"])
    assert all(r.success for r in results)
    return resource, results


def png_of(markdown: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert prefix in markdown, markdown[:200]
    return base64.b64decode(markdown.split(prefix, 1)[1].rstrip(")"))


def evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.check_name, e.partition): e for e in result.get_asset_check_evaluations()}


def test_views_materialize_with_table_schema_and_png(processed, instance, tmp_path: Path) -> None:
    resource, _ = processed
    result = dg.materialize(view_assets, instance=instance, resources={"pipeline": resource})
    assert result.success
    meta = instance.get_latest_materialization_event(
        dg.AssetKey("learner_progress")
    ).asset_materialization.metadata
    assert meta["dagster/row_count"].value > 0
    columns = [c.name for c in meta["dagster/column_schema"].schema.columns]
    assert {"trend", "first_rate_per_100_words", "sessions_seen"} <= set(columns)
    assert all(c.description for c in meta["dagster/column_schema"].schema.columns)  # from the docs' table
    rates = [r.data["latest_rate_per_100_words"] for r in meta["preview"].records]
    assert all(round(v, 2) == v for v in rates)  # rounded for display
    assert png_of(meta["chart"].value).startswith(PNG_MAGIC)
    assert meta["preview"].schema.columns and meta["preview"].records
    frame = pd.read_parquet(tmp_path / "results/views/learner_progress.parquet")
    assert set(frame["learner_id"]) == {"ana", "ben"} and len(frame) == meta["dagster/row_count"].value
    assert (tmp_path / "results/views/learner_progress.csv").read_text().startswith("learner_id,pattern_id")
    cohort = instance.get_latest_materialization_event(
        dg.AssetKey("cohort_patterns")
    ).asset_materialization.metadata
    assert png_of(cohort["chart"].value).startswith(PNG_MAGIC)
    assert cohort["weeks"].value == 2 and "pipeline_health" not in cohort
    health_meta = instance.get_latest_materialization_event(
        dg.AssetKey("pipeline_health")
    ).asset_materialization.metadata
    # Top-level numbers: the UI's Plots tab draws their history.
    assert health_meta["done"].value == 3 and health_meta["failed"].value == 0
    assert health_meta["pending"].value == 0 and health_meta["cost_usd"].value == 0.0
    assert "median_upload_to_done_seconds" not in health_meta  # no upload came through the sensor here
    assert png_of(health_meta["chart"].value).startswith(PNG_MAGIC)
    assert all(c.description for c in health_meta["dagster/column_schema"].schema.columns)
    health = pd.read_parquet(tmp_path / "results/views/pipeline_health.parquet")
    assert health["sessions_done"].sum() == 3 and len(health) == health_meta["dagster/row_count"].value
    assert (tmp_path / "results/views/pipeline_health.png").read_bytes().startswith(PNG_MAGIC)
    checks = {(c.asset_key.to_user_string(), c.check_name): c for c in result.get_asset_check_evaluations()}
    assert len(checks) == 6 and all(c.passed for c in checks.values()), checks
    assert checks[("pipeline_health", "rows_match_sessions")].metadata["stored_sessions"].value == 3


def test_view_checks_on_the_stored_views_fail_with_the_reason(processed, instance, tmp_path: Path) -> None:
    """*Execute checks* on the views: a view whose file lost a column, or sessions, fails and says how."""
    resource, _ = processed
    assert dg.materialize(view_assets, instance=instance, resources={"pipeline": resource}).success
    path = tmp_path / "results/views/learner_progress.parquet"
    frame = pd.read_parquet(path)
    frame[frame["learner_id"] != "ben"].drop(columns=["trend"]).to_parquet(path, index=False)
    result = dg.materialize(
        view_assets,
        instance=instance,
        resources={"pipeline": resource},
        selection=dg.AssetSelection.checks_for_assets("learner_progress"),
    )
    assert result.success and not result.get_asset_materialization_events()
    found = {c.check_name: c for c in result.get_asset_check_evaluations()}
    schema, rows = found["schema_unchanged"], found["rows_match_sessions"]
    assert not schema.passed and "missing trend" in schema.description
    assert not rows.passed and schema.severity == dg.AssetCheckSeverity.ERROR
    assert rows.metadata["rows"].value == len(frame[frame["learner_id"] != "ben"])


def chart_observations(instance, partition: str) -> list[dg.EventLogRecord]:
    return instance.fetch_observations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("pattern_profile"), asset_partitions=[partition]),
        limit=10,
    ).records


def test_views_refresh_draws_each_learners_chart_on_their_latest_profile(processed, instance) -> None:
    resource, _ = processed
    profile = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("pattern_profile"), asset_partitions=["a2"]), limit=1
    ).records[0]
    assert "pattern_counts_chart" not in profile.asset_materialization.metadata  # session runs draw nothing
    assert dg.materialize(view_assets, instance=instance, resources={"pipeline": resource}).success
    [ana] = chart_observations(instance, "a2")
    chart = ana.asset_observation.metadata["pattern_counts_chart"].value
    assert png_of(chart).startswith(PNG_MAGIC) and len(chart) < 60_000  # bounded: it rides in an event
    assert ana.asset_observation.metadata["charted_sessions"].value == 2
    assert len(chart_observations(instance, "b1")) == 1 and chart_observations(instance, "a1") == []


def test_views_redraw_only_the_charts_of_learners_whose_profile_changed(processed, instance) -> None:
    resource, _ = processed
    assert dg.materialize(view_assets, instance=instance, resources={"pipeline": resource}).success
    assert dg.materialize(view_assets, instance=instance, resources={"pipeline": resource}).success
    assert len(chart_observations(instance, "a2")) == 1 and len(chart_observations(instance, "b1")) == 1
    [rerun] = materialize_sessions(instance, resource, ["b1"])  # rewrites b1's profile snapshot
    assert rerun.success
    assert dg.materialize(view_assets, instance=instance, resources={"pipeline": resource}).success
    assert len(chart_observations(instance, "a2")) == 1 and len(chart_observations(instance, "b1")) == 2


def test_checks_pass_on_good_sessions_in_the_session_runs(processed) -> None:
    _, results = processed
    for result, session in zip(results, ["a1", "a2", "b1"], strict=True):
        found = evaluations(result)
        for name in ("transcript_quality", "insights_grounded", "profile_consistent"):
            assert found[(name, session)].passed, found[(name, session)].description


def run_checks(instance, resource, keys: list[str]) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    """Only the checks, on the stored documents (what the UI's "Execute checks" does)."""
    tags = {RANGE_START: keys[0], RANGE_END: keys[-1]}
    result = dg.materialize(
        offline_assets(),
        instance=instance,
        resources={"pipeline": resource},
        selection=dg.AssetSelection.all_asset_checks(),
        tags=tags,
    )
    assert result.success
    return evaluations(result)


def test_checks_fail_with_a_reason_on_planted_documents(processed, instance, tmp_path: Path) -> None:
    resource, _ = processed
    results = tmp_path / "results"
    transcript = json.loads((results / "transcripts/a1.json").read_text())
    transcript["quality"] = {
        "declared_seconds": 600.0,
        "decoded_seconds": 45.0,
        "truncated": True,
        "speech_ratio": 0.8,
        "mean_logprob": -0.3,
        "no_speech_prob": 0.1,
    }
    (results / "transcripts/a1.json").write_text(json.dumps(transcript))
    insights = json.loads((results / "insights/a2.json").read_text())
    insights["analysis"]["insights"][0]["examples"].append("I never said this")
    (results / "insights/a2.json").write_text(json.dumps(insights))
    profile = json.loads((results / "pattern_profiles/b1.json").read_text())
    profile["patterns"][0]["total_frequency"] += 5
    tampered = profile["patterns"][0]["pattern_id"]
    (results / "pattern_profiles/b1.json").write_text(json.dumps(profile))

    found = run_checks(instance, resource, ["a1", "a2", "b1"])
    truncated = found[("transcript_quality", "a1")]
    assert not truncated.passed and truncated.severity == dg.AssetCheckSeverity.ERROR
    assert "truncated" in truncated.description and truncated.metadata["declared_seconds"].value == 600.0
    ungrounded = found[("insights_grounded", "a2")]
    assert not ungrounded.passed and "not verbatim" in ungrounded.description
    assert ungrounded.metadata["ungrounded_examples"].value[0]["example"] == "I never said this"
    inconsistent = found[("profile_consistent", "b1")]
    assert not inconsistent.passed and tampered in inconsistent.description
    assert found[("transcript_quality", "b1")].passed and found[("profile_consistent", "a2")].passed


def test_implausible_pace_warns(processed, instance, tmp_path: Path) -> None:
    resource, _ = processed
    path = tmp_path / "results/transcripts/b1.json"
    transcript = json.loads(path.read_text())
    transcript.update(duration_seconds=900.0, words_per_minute=2.0)  # 30 words in 15 minutes
    path.write_text(json.dumps(transcript))
    check = run_checks(instance, resource, ["b1"])[("transcript_quality", "b1")]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN and "pace" in check.description


def test_untrusted_text_is_plain_text_in_metadata() -> None:
    hostile = "Look ![x](http://evil/) and [click](http://evil) <img src=x> now"
    transcript = Transcript(
        session_id="s",
        learner_id="ana",
        text=hostile,
        source="text",
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
        word_count=9,
        provider="text",
        model="none",
        input_sha256="0" * 64,
    )
    preview = transcript_metadata(transcript)["preview"]
    assert isinstance(preview, dg.TextMetadataValue) and preview.text == hostile
    doc = SessionInsights(
        session_id="s",
        learner_id="ana",
        recorded_at=transcript.recorded_at,
        provider="p",
        model="m",
        prompt_version="v",
        input_sha256="0" * 64,
        analysis=SessionAnalysis(
            insights=[insight("grammar.articles", 1, "[click](http://evil)")],
            focus_next=hostile,
            summary=hostile,
        ),
    )
    meta = insights_metadata(doc)
    markdown = [k for k, v in meta.items() if isinstance(v, dg.MarkdownMetadataValue)]
    assert markdown == ["report_card"] and meta["summary"].text == hostile
    assert list(meta)[:3] == ["report_card", "focus_next", "summary"]  # the card opens the page
    from markdown_it import MarkdownIt  # rich's renderer: CommonMark, as the UI parses it

    card = meta["report_card"].md_str
    html = MarkdownIt("commonmark").render(card)
    assert "<a " not in html and "<img" not in html and "http://" not in card  # no link, image, autolink
    assert "![x](http://evil/)" in html.replace("&lt;", "<").replace("&gt;", ">")  # shown as characters
    assert "&lt;img src=x&gt;" in html and "[click](http://evil)" in html
    assert "Articles" in html or "article" in html.lower()  # the pattern by its label


def test_report_card_lists_every_example_by_label() -> None:
    """Every example of every pattern (not only the first), under the pattern's label."""
    examples = ["I go yesterday", "she go home", "we eat there last week"]
    tense = insight("grammar.verb_tense", 3).model_copy(update={"examples": examples})
    doc = SessionInsights(
        session_id="s",
        learner_id="ana",
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
        provider="p",
        model="m",
        prompt_version="v",
        input_sha256="0" * 64,
        analysis=SessionAnalysis(
            insights=[tense, insight("vocabulary.filler_words", 2, "um")],
            focus_next="Past tense.",
            summary="S.",
        ),
    )
    card = insights_metadata(doc)["report_card"].md_str
    assert card.index("Past tense") < card.index("Verb") < card.index("Filler")
    assert all(example in card for example in examples)
    assert "3×" in card and "medium severity" in card and "practise" in card


def test_views_refresh_by_automation_debounced(
    processed, instance, tmp_path: Path, uploads_dir: Path
) -> None:
    resource, _ = processed
    defs = dg.Definitions(assets=[*offline_assets(), *view_assets], resources={"pipeline": resource})
    views = {dg.AssetKey(k) for k in ("learner_progress", "cohort_patterns", "pipeline_health")}
    start = datetime(2026, 2, 2, 10, 1, tzinfo=UTC)

    def requested(cursor, minutes: float):  # type: ignore[no-untyped-def]
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=cursor, evaluation_time=start + timedelta(minutes=minutes)
        )
        return {key for key in views if result.get_num_requested(key)}, result.cursor

    _, cursor = requested(None, 0)  # the sensor's first tick (at code load): only initialises
    add_session(uploads_dir, "ben", "b2", text=TEXT, manifest='{"recorded_at": "2026-01-12T09:00:00Z"}')
    materialize_sessions(instance, resource, ["b2"])
    between, cursor = requested(cursor, 1.5)  # 10:02:30: no 5-minute tick since 10:01
    assert between == set(), "debounced: a new profile waits for the next tick"
    on_tick, cursor = requested(cursor, 4.5)  # 10:05:30
    assert on_tick == views, "profiles changed before the tick: the views refresh"
    dg.materialize(view_assets, instance=instance, resources={"pipeline": resource})
    again, cursor = requested(cursor, 9.5)
    assert again == set(), "nothing changed since the refresh: no run"
    for session, day in (("b3", 13), ("b4", 14)):
        add_session(
            uploads_dir, "ben", session, text=TEXT, manifest=f'{{"recorded_at": "2026-01-{day}T09:00:00Z"}}'
        )
    materialize_sessions(instance, resource, ["b3", "b4"], batch=True)  # a backfill batch
    after_backfill, cursor = requested(cursor, 14.5)
    assert after_backfill == views, "a backfill of profiles refreshes the views once"
    assert VIEWS_GROUP == "analyst_views"


def test_views_automation_sensor_runs_by_default_and_targets_the_views() -> None:
    from wiring.definitions import defs

    repository = defs().get_repository_def()
    sensor = repository.get_sensor_def("views_automation_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert "default_automation_condition_sensor" not in {s.name for s in repository.sensor_defs}
    for key in ("learner_progress", "cohort_patterns", "pipeline_health"):
        spec = repository.asset_graph.get(dg.AssetKey(key))
        assert spec.automation_condition is not None and spec.freshness_policy is not None
    assert repository.asset_graph.get(dg.AssetKey("pattern_profile")).freshness_policy is not None


def test_a_batch_run_draws_no_chart_and_the_views_draw_one_per_learner(
    tmp_path: Path, uploads_dir: Path, instance
) -> None:
    keys = [f"c{n:02d}" for n in range(11)]
    for n, key in enumerate(keys):
        add_session(
            uploads_dir, "cat", key, text=TEXT, manifest=f'{{"recorded_at": "2026-01-{n + 1:02d}T09:00:00Z"}}'
        )
    resource = offline_resource(tmp_path, uploads_dir)
    [result] = materialize_sessions(instance, resource, keys, batch=True)
    assert result.success
    assert (
        all(e.passed for e in result.get_asset_check_evaluations())
        and len(result.get_asset_check_evaluations()) == 33
    )
    assert dg.materialize(view_assets, instance=instance, resources={"pipeline": resource}).success
    [chart] = [r for key in keys for r in chart_observations(instance, key)]
    assert chart.partition_key == "c10" and chart.asset_observation.metadata["charted_sessions"].value == 11
