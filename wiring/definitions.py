"""The composition root: the only module that imports assets/ and sensors/.

Definitions load lazily (``@dg.definitions``), so configuration is read when Dagster loads the
code location, not when Python imports this module.
"""

from __future__ import annotations

import os

import dagster as dg

from assets.partitions import GROUP, sessions_partitions
from assets.sessions import build_session_assets
from assets.views import VIEWS_GROUP, view_assets
from pipeline.config.provider_plan import provider_plan
from pipeline.config.settings import Settings
from sensors.failures import session_run_canceled_sensor, session_run_failure_sensor
from sensors.uploads import build_uploads_sensor
from wiring.resources import PipelineResource


@dg.definitions
def defs() -> dg.Definitions:
    settings = Settings.from_env(os.environ)
    plan = provider_plan(
        settings,
        openai_key=dg.EnvVar("OPENAI_API_KEY").get_value(),
        anthropic_key=dg.EnvVar("ANTHROPIC_API_KEY").get_value(),
    )
    session_assets = build_session_assets(plan)
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
    return dg.Definitions(
        assets=[*session_assets, *view_assets],
        jobs=[session_job, reanalysis_job],
        sensors=[
            build_uploads_sensor(session_job, settings.sensor_interval_seconds),
            session_run_failure_sensor,
            session_run_canceled_sensor,
            views_automation_sensor,
        ],
        resources={"pipeline": PipelineResource()},
        executor=dg.in_process_executor,
    )
