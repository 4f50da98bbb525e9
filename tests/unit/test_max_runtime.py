"""Every instance config bounds a run's runtime, so a hung run cannot hold its slots forever (issue 18 item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config_schema  # the schema the daemon validates

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "path", ["dagster.yaml", "deploy/dagster.yaml", "deploy/k8s/dagster.yaml", "deploy/celery/dagster.yaml"]
)
def test_runs_have_a_maximum_runtime_enforced_by_run_monitoring(path: str) -> None:
    config = yaml.safe_load((ROOT / path).read_text())
    monitoring = config["run_monitoring"]
    assert monitoring["enabled"] and 0 < monitoring["max_runtime_seconds"] <= 24 * 3600
    result = validate_config(dagster_instance_config_schema()["run_monitoring"].config_type, monitoring)
    assert result.success, result.errors
