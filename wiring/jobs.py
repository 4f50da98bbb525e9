"""The jobs: what the uploads sensor runs for a session, and what engineers backfill after a prompt change."""

from __future__ import annotations

import dagster as dg

from assets.partitions import GROUP, sessions_partitions
from assets.views import VIEWS_GROUP

session_job = dg.define_asset_job(
    "session_job",
    selection=dg.AssetSelection.groups(GROUP),
    partitions_def=sessions_partitions,
    description="Transcribe, analyse and profile one session (the uploads sensor's target).",
)

reanalysis_job = dg.define_asset_job(
    "reanalysis_job",
    selection=dg.AssetSelection.assets("insights", "pattern_profile"),
    partitions_def=sessions_partitions,
    description="Re-analyse sessions from their stored transcripts (after a prompt or model change).",
)

# Runs on its own (no sensor to switch on in the UI): it evaluates the views' automation conditions.
views_automation_sensor = dg.AutomationConditionSensorDefinition(
    "views_automation_sensor",
    target=dg.AssetSelection.groups(VIEWS_GROUP),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Refreshes learner_progress and cohort_patterns after profiles change (debounced).",
)
