"""The jobs: what the uploads sensor runs for a session, and what engineers backfill after a prompt change."""

from __future__ import annotations

import dagster as dg

from assets.partitions import GROUP, sessions_partitions
from assets.views import VIEWS_GROUP

# Backfills and re-analysis yield to live uploads: the run queue and the shared provider budget serve
# higher priorities first, and the uploads sensor's runs carry 10 (sensors/uploads.py).
BACKFILL_PRIORITY = {"dagster/priority": "-1"}

# Which lane a run is in. Priority only orders the queue: once backfill runs hold every run slot, a live
# upload still waits for one of them to end. So every run the uploads sensor does not request carries
# ``bulk`` (these jobs' own tags, the views' automation runs), the sensor's runs override it with
# ``live``, and dagster.yaml's ``tag_concurrency_limits`` let bulk runs take all run slots but one
# (backfill runs, which an asset backfill launched from the UI tags with ``dagster/backfill`` only, all
# but two): a live upload's run always finds a slot free.
LANE_TAG = "speaking/lane"
BULK_LANE = {LANE_TAG: "bulk"}
LIVE_LANE = "live"

session_job = dg.define_asset_job(
    "session_job",
    selection=dg.AssetSelection.groups(GROUP),
    partitions_def=sessions_partitions,
    description="Transcribe, analyse and profile one session (the uploads sensor's target).",
    tags={**BACKFILL_PRIORITY, **BULK_LANE},  # a backfill's runs; the sensor's runs override both
)

reanalysis_job = dg.define_asset_job(
    "reanalysis_job",
    selection=dg.AssetSelection.assets("insights", "pattern_profile"),
    partitions_def=sessions_partitions,
    description="Re-analyse sessions from their stored transcripts (after a prompt or model change).",
    tags={**BACKFILL_PRIORITY, **BULK_LANE},
)

# Runs on its own (no sensor to switch on in the UI): it evaluates the views' automation conditions.
views_automation_sensor = dg.AutomationConditionSensorDefinition(
    "views_automation_sensor",
    target=dg.AssetSelection.groups(VIEWS_GROUP),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    run_tags=BULK_LANE,  # the views never take the run slot kept for live uploads
    description="Refreshes the analyst views after profiles change (debounced).",
)
