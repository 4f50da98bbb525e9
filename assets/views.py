"""The analysts' views: learner_progress, cohort_patterns and pipeline_health, from the stored sessions.

All three are unpartitioned, depend on every pattern_profile partition, and are built by one
subsettable step from one read of the stored sessions. They refresh by declarative
automation (``VIEWS_AUTOMATION``): at the first 5-minute tick after any profile was materialized
(a new session, a re-analysis, a backfill batch, a refreshed snapshot), at most once per tick and
never while a refresh is running, so a burst of 1,000 sessions costs a few refreshes, not 1,000.

The same step draws each learner's pattern-count chart onto their latest ``pattern_profile``
partition (an observation), for learners whose profile changed since it was last drawn: drawing
it in the session runs cost every small run matplotlib's import (about 1.2 s of a 2.8 s run).
"""

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import dagster as dg

from assets.metadata import Metadata, chart_markdown, frame_table
from assets.partitions import freshness_policy
from assets.view_checks import view_check_results, view_check_specs
from pipeline.stages.runner import Stage
from pipeline.storage import Storage
from pipeline.views.columns import DESCRIPTIONS
from wiring.resources import PipelineResource

if TYPE_CHECKING:  # pandas, pyarrow and matplotlib load in the views' step, never with the code location
    from pipeline.views.io import ViewInputs

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

_COMMON: dict[str, Any] = {
    "deps": [Stage.PROFILE.value],
    "group_name": VIEWS_GROUP,
    "automation_condition": VIEWS_AUTOMATION,
    "freshness_policy": freshness_policy,
    "kinds": {"pandas", "parquet"},
}


def _learner_progress(results: Storage, inputs: "ViewInputs") -> Metadata:
    from pipeline.views.refresh import write_learner_progress

    view = write_learner_progress(results, inputs)
    frame = view.frame
    return {
        "dagster/row_count": len(frame),
        "dagster/column_schema": frame_table(
            frame.head(0), descriptions=DESCRIPTIONS["learner_progress"]
        ).schema,
        "learners": int(frame["learner_id"].nunique()),
        "sessions": int(inputs.sessions["analysed"].sum()),
        "preview": frame_table(frame, descriptions=DESCRIPTIONS["learner_progress"]),
        "chart": chart_markdown(view.png, "pattern frequencies per 100 words across sessions"),
        "parquet": dg.MetadataValue.path(view.where["parquet"]),
        "csv": dg.MetadataValue.path(view.where["csv"]),
    }


def _cohort_patterns(results: Storage, inputs: "ViewInputs") -> Metadata:
    from pipeline.views.refresh import write_cohort_patterns

    view = write_cohort_patterns(results, inputs)
    frame = view.frame
    return {
        "dagster/row_count": len(frame),
        "dagster/column_schema": frame_table(
            frame.head(0), descriptions=DESCRIPTIONS["cohort_patterns"]
        ).schema,
        "weeks": int(frame["week"].nunique()),
        "preview": frame_table(frame, descriptions=DESCRIPTIONS["cohort_patterns"]),
        "chart": chart_markdown(view.png, "top patterns: share of sessions per week"),
        "parquet": dg.MetadataValue.path(view.where["parquet"]),
        "csv": dg.MetadataValue.path(view.where["csv"]),
    }


def _pipeline_health(results: Storage, inputs: "ViewInputs") -> Metadata:
    from pipeline.views.frames import health_totals
    from pipeline.views.refresh import write_pipeline_health

    view = write_pipeline_health(results, inputs)
    frame = view.frame
    # Numbers at the top level: the UI's Plots tab draws each one's history across refreshes.
    totals = {name: value for name, value in health_totals(inputs.sessions).items() if value is not None}
    return {
        "dagster/row_count": len(frame),
        "dagster/column_schema": frame_table(
            frame.head(0), descriptions=DESCRIPTIONS["pipeline_health"]
        ).schema,
        **totals,
        "preview": frame_table(frame, descriptions=DESCRIPTIONS["pipeline_health"]),
        "chart": chart_markdown(view.png, "sessions per week of upload and median upload to DONE"),
        "parquet": dg.MetadataValue.path(view.where["parquet"]),
        "csv": dg.MetadataValue.path(view.where["csv"]),
    }


def _profile_charts(context: dg.AssetExecutionContext, inputs: "ViewInputs") -> Iterator[dg.AssetObservation]:
    """A chart on each learner's newest profile snapshot that has none since it was last materialized.

    A profile snapshot is rewritten whenever the learner's counts change (a new, re-analysed or
    late session refreshes the later snapshots), so "observed after its latest materialization"
    means the drawn chart is current, and an unchanged learner costs nothing.
    """
    from pipeline.views.charts import profile_counts_chart
    from pipeline.views.frames import latest_sessions, session_rates

    latest = latest_sessions(inputs.sessions)
    key = dg.AssetKey(Stage.PROFILE.value)
    partitions = set(latest.values())
    if not partitions:
        return
    instance = context.instance
    materialized = instance.get_latest_storage_id_by_partition(
        key, dg.DagsterEventType.ASSET_MATERIALIZATION, partitions
    )
    drawn = instance.get_latest_storage_id_by_partition(
        key, dg.DagsterEventType.ASSET_OBSERVATION, partitions
    )
    stale = {
        learner: session
        for learner, session in latest.items()
        if session in materialized and drawn.get(session, -1) < materialized[session]
    }
    if not stale:
        return
    rates = session_rates(inputs.sessions, inputs.patterns)
    for learner, counts in rates[rates["learner_id"].isin(list(stale))].groupby("learner_id"):
        try:
            png = profile_counts_chart(
                str(learner), counts[["recorded_at", "pattern_id", "frequency", "rate_per_100_words"]]
            )
        except Exception:  # a chart is a nicety: one learner's bad data never fails the views
            context.log.warning(f"pattern_profile chart of learner {learner} failed", exc_info=True)
            continue
        yield dg.AssetObservation(
            asset_key=key,
            partition=stale[str(learner)],
            metadata={
                "pattern_counts_chart": chart_markdown(png, "patterns per 100 words per session"),
                "charted_sessions": int(counts["session_id"].nunique()),
                "drawn_by": "analyst_views",
            },
        )


_BUILDERS = {
    "learner_progress": _learner_progress,
    "cohort_patterns": _cohort_patterns,
    "pipeline_health": _pipeline_health,
}
_SPECS = [
    dg.AssetSpec(
        "learner_progress",
        description="One row per learner and pattern: sessions seen, first/latest rate per 100 words, trend.",
        skippable=True,
        **_COMMON,
    ),
    dg.AssetSpec(
        "cohort_patterns",
        description="Per ISO week and pattern: learners, sessions and share of sessions.",
        skippable=True,
        **_COMMON,
    ),
    dg.AssetSpec(
        "pipeline_health",
        description="Per ISO week of upload: sessions done, failed and pending, median upload to DONE, cost.",
        skippable=True,
        **_COMMON,
    ),
]


@dg.multi_asset(name="analyst_views", specs=_SPECS, check_specs=view_check_specs(), can_subset=True)
def analyst_views(context: dg.AssetExecutionContext, pipeline: PipelineResource):  # noqa: ANN201 - a generator
    """The views from one read of the stored sessions, so they describe the same set of sessions."""
    from pipeline.views.io import load_inputs

    started = time.perf_counter()
    results = pipeline.results()
    inputs = load_inputs(results, pipeline.status_store())
    read_seconds = time.perf_counter() - started
    context.log.info(
        f"views: {int(inputs.sessions['analysed'].sum())} analysed sessions read in {read_seconds:.2f} s"
    )
    checked = {key.asset_key for key in context.selected_asset_check_keys}
    for key in sorted(context.selected_asset_keys | checked, key=lambda k: k.to_user_string()):
        name = key.to_user_string()
        if key in context.selected_asset_keys:
            view_started = time.perf_counter()
            metadata = _BUILDERS[name](results, inputs)
            metadata["read_seconds"] = round(read_seconds, 3)
            metadata["refresh_seconds"] = round(read_seconds + time.perf_counter() - view_started, 3)
            yield dg.MaterializeResult(asset_key=key, metadata=metadata)
        yield from view_check_results(context, results, name, inputs)  # on the view as written
    started = time.perf_counter()
    drawn = 0
    for observation in _profile_charts(context, inputs):  # after the views: they never wait on charts
        context.log_event(observation)
        drawn += 1
    context.log.info(f"views: {drawn} learner chart(s) drawn in {time.perf_counter() - started:.2f} s")


view_assets = [analyst_views]
