"""The analysts' views: learner_progress and cohort_patterns, recomputed from the stored sessions.

Both are unpartitioned and depend on every pattern_profile partition. They refresh by declarative
automation (``VIEWS_AUTOMATION``): at the first 5-minute tick after any profile was materialized
(a new session, a re-analysis, a backfill batch, a refreshed snapshot), at most once per tick and
never while a refresh is running, so a burst of 1,000 sessions costs a few refreshes, not 1,000.
"""


import time

import dagster as dg

from assets.metadata import chart_markdown, frame_table
from assets.partitions import freshness_policy
from pipeline.resources import PipelineResource
from pipeline.runner import Stage
from pipeline.storage import Storage
from pipeline.view_data import load_inputs, view_key, write_view
from pipeline.views import cohort_patterns as cohort_frame
from pipeline.views import learner_progress as progress_frame
from pipeline.views import pipeline_health, session_rates

VIEWS_GROUP = "analyst_views"
VIEWS_CRON = "*/5 * * * *"

#: Eager, debounced: a profile changed (or the view was never built) since the last refresh was
#: requested, a 5-minute tick has just passed, and no refresh is in progress.
VIEWS_AUTOMATION = (
    (dg.AutomationCondition.any_deps_updated() | dg.AutomationCondition.missing())
    .since_last_handled()
    .with_label("profiles changed since last refresh")
    & dg.AutomationCondition.cron_tick_passed(VIEWS_CRON)
    & ~dg.AutomationCondition.in_progress()
).with_label(f"debounced eager ({VIEWS_CRON})")

_COMMON = {
    "deps": [Stage.PROFILE.value],
    "group_name": VIEWS_GROUP,
    "automation_condition": VIEWS_AUTOMATION,
    "freshness_policy": freshness_policy,
    "kinds": {"pandas", "parquet"},
}


def _png_copy(results: Storage, name: str, png: bytes | None) -> None:
    if png is not None:
        results.write_bytes(view_key(name, "png"), png)


@dg.asset(description="One row per learner and pattern: sessions seen, first/latest rate per 100 words, trend.", **_COMMON)
def learner_progress(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
    from pipeline.charts import learner_rates_chart

    started = time.perf_counter()
    results = pipeline.results()
    inputs = load_inputs(results, pipeline.status_store())
    frame = progress_frame(inputs.sessions, inputs.patterns)
    where = write_view(results, "learner_progress", frame)
    png = learner_rates_chart(session_rates(inputs.sessions, inputs.patterns))
    _png_copy(results, "learner_progress", png)
    context.log.info(f"learner_progress: {len(frame)} rows from {int(inputs.sessions['analysed'].sum())} sessions")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "dagster/column_schema": frame_table(frame.head(0)).schema,
            "learners": int(frame["learner_id"].nunique()),
            "sessions": int(inputs.sessions["analysed"].sum()),
            "preview": frame_table(frame),
            "chart": chart_markdown(png, "pattern frequencies per 100 words across sessions"),
            "parquet": dg.MetadataValue.path(where["parquet"]),
            "csv": dg.MetadataValue.path(where["csv"]),
            "refresh_seconds": round(time.perf_counter() - started, 3),
        }
    )


@dg.asset(description="Per ISO week and pattern: learners, sessions and share of sessions; plus pipeline health per week.", **_COMMON)
def cohort_patterns(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
    from pipeline.charts import cohort_chart

    started = time.perf_counter()
    results = pipeline.results()
    inputs = load_inputs(results, pipeline.status_store())
    frame = cohort_frame(inputs.sessions, inputs.patterns)
    health = pipeline_health(inputs.sessions)
    where = write_view(results, "cohort_patterns", frame)
    health_where = write_view(results, "pipeline_health", health)
    png = cohort_chart(frame)
    _png_copy(results, "cohort_patterns", png)
    context.log.info(f"cohort_patterns: {len(frame)} rows over {frame['week'].nunique()} week(s)")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "dagster/column_schema": frame_table(frame.head(0)).schema,
            "weeks": int(frame["week"].nunique()),
            "preview": frame_table(frame),
            "chart": chart_markdown(png, "top patterns: share of sessions per week"),
            "pipeline_health": frame_table(health),
            "parquet": dg.MetadataValue.path(where["parquet"]),
            "csv": dg.MetadataValue.path(where["csv"]),
            "pipeline_health_parquet": dg.MetadataValue.path(health_where["parquet"]),
            "refresh_seconds": round(time.perf_counter() - started, 3),
        }
    )


view_assets = [learner_progress, cohort_patterns]
