"""Building the real definitions for tests, configured on temporary folders with offline providers."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets.partitions import RANGE_END, RANGE_START
from assets.sessions import build_session_assets
from pipeline.config.settings import Settings
from pipeline.providers.plan import provider_plan
from wiring.resources import PipelineResource


def offline_resource(tmp_path: Path, uploads: Path, **overrides: object) -> PipelineResource:
    settings: dict[str, object] = {
        "uploads_uri": str(uploads),
        "results_uri": str(tmp_path / "results"),
        "status_db_url": f"sqlite:///{tmp_path}/status.db",
        "stt_provider": "offline",
        "analyzer_provider": "offline",
    }
    return PipelineResource(**{**settings, **overrides})


def offline_assets() -> list[dg.AssetsDefinition]:
    settings = Settings(stt_provider="offline", analyzer_provider="offline")
    return build_session_assets(provider_plan(settings, openai_key=None, anthropic_key=None))


def materialize_sessions(
    instance: dg.DagsterInstance, resource: PipelineResource, keys: list[str], *, batch: bool = False
) -> list[dg.ExecuteInProcessResult]:
    """Materialize all three assets, one run per session (the sensor path) or one run for all (a backfill)."""
    instance.add_dynamic_partitions("sessions", keys)
    assets = offline_assets()
    if batch:
        tags = {RANGE_START: keys[0], RANGE_END: keys[-1]}
        return [
            dg.materialize(
                assets, instance=instance, resources={"pipeline": resource}, tags=tags, raise_on_error=False
            )
        ]
    return [
        dg.materialize(
            assets,
            instance=instance,
            resources={"pipeline": resource},
            partition_key=key,
            raise_on_error=False,
        )
        for key in keys
    ]
