"""The jobs: what the uploads sensor runs for a session, and what engineers backfill after a prompt change."""

from __future__ import annotations

import dagster as dg

from assets.partitions import GROUP, sessions_partitions
from assets.views import VIEWS_GROUP

# Backfills and re-analysis yield to live uploads: the run queue and the shared provider budget serve
# higher priorities first, and the uploads sensor's runs carry 10 (sensors/uploads.py).
BACKFILL_PRIORITY = {"dagster/priority": "-1"}

session_job = dg.define_asset_job(
    "session_job",
    selection=dg.AssetSelection.groups(GROUP),
    partitions_def=sessions_partitions,
    description="Transcribe, analyse and profile one session (the uploads sensor's target).",
    tags=BACKFILL_PRIORITY,  # a backfill's runs; the sensor's own runs override it with 10
)

reanalysis_job = dg.define_asset_job(
    "reanalysis_job",
    selection=dg.AssetSelection.assets("insights", "pattern_profile"),
    partitions_def=sessions_partitions,
    description="Re-analyse sessions from their stored transcripts (after a prompt or model change).",
    tags=BACKFILL_PRIORITY,
)

# Runs on its own (no sensor to switch on in the UI): it evaluates the views' automation conditions.
views_automation_sensor = dg.AutomationConditionSensorDefinition(
    "views_automation_sensor",
    target=dg.AssetSelection.groups(VIEWS_GROUP),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Refreshes the analyst views after profiles change (debounced).",
)
