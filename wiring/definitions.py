"""The composition root: the one module that puts assets, sensors, jobs and the resource together.

Definitions load lazily (``@dg.definitions``), so configuration is read when Dagster loads the
code location, not when Python imports this module.
"""

from __future__ import annotations

import os

import dagster as dg

from assets.sessions import build_session_assets
from assets.views import view_assets
from pipeline.config.settings import Settings
from pipeline.providers.plan import provider_plan
from sensors.alerts import build_alerts_sensor
from sensors.failures import session_run_canceled_sensor, session_run_failure_sensor
from sensors.uploads import build_uploads_sensor
from wiring.alerts import alerts_configured, alerts_resource
from wiring.erasure import erasure_job
from wiring.jobs import reanalysis_job, session_job, views_automation_sensor
from wiring.resources import PipelineResource


@dg.definitions
def defs() -> dg.Definitions:
    settings = Settings.from_env(os.environ)
    plan = provider_plan(
        settings,
        openai_key=dg.EnvVar("OPENAI_API_KEY").get_value(),
        anthropic_key=dg.EnvVar("ANTHROPIC_API_KEY").get_value(),
    )
    return dg.Definitions(
        assets=[*build_session_assets(plan), *view_assets],
        jobs=[session_job, reanalysis_job, erasure_job],
        sensors=[
            build_uploads_sensor(session_job, settings.sensor_interval_seconds),
            session_run_failure_sensor,
            session_run_canceled_sensor,
            views_automation_sensor,
            build_alerts_sensor(alerts_configured(os.environ), settings.alert_interval_seconds),
        ],
        resources={"pipeline": PipelineResource(), "alerts": alerts_resource(os.environ)},
        executor=dg.in_process_executor,
    )


def preload_for_runs() -> list[str]:
    """What a process that forks its runs (a Celery worker, ``launchers.celery_worker``) loads once
    before the fork: the configured providers' SDKs, the model table, the kept S3 session."""
    return PipelineResource().preload()
