"""What the UI shows after a batch with a bad session, read through the UI's own GraphQL API in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.test_utils import in_process_test_workspace  # the webserver's in-process workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster_graphql.test.utils import execute_dagster_graphql

from assets.checks import CHECKS
from tests.support.materialize import materialize_sessions, offline_resource
from tests.support.sessions import add_session

TEXT = "Yesterday I go to the market and I buy a apple. She don't like the market. Um, it was very very good."
KEYS = ["k0", "k1", "k2"]
BAD = "k1"
DEFS = """
import dagster as dg
from tests.support.materialize import offline_assets
from wiring.resources import PipelineResource

defs = dg.Definitions(assets=offline_assets(), resources={"pipeline": PipelineResource()})
"""
EXECUTIONS = """
query ($asset: AssetKeyInput!, $check: String!) {
  assetCheckExecutions(assetKey: $asset, checkName: $check, limit: 50) {
    runId status partition
    evaluation { description metadataEntries { label ... on TextMetadataEntry { text } } }
  }
}
"""
PARTITION_PAGE = """
query ($asset: AssetKeyInput!, $partition: String!) {
  assetOrError(assetKey: $asset) {
    ... on Asset {
      assetMaterializations(partitions: [$partition]) { runId }
      assetObservations(partitions: [$partition]) {
        runId partition description
        metadataEntries { label ... on TextMetadataEntry { text } }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """One batch run of three sessions, the middle one an empty transcript; the UI's GraphQL context."""
    tmp = tmp_path_factory.mktemp("ui_failures")
    uploads = tmp / "uploads"
    for n, key in enumerate(KEYS):
        add_session(
            uploads,
            "ana",
            key,
            text="" if key == BAD else TEXT,
            manifest=f'{{"recorded_at": "2026-02-0{n + 1}T09:00:00Z"}}',
        )
    (tmp / "defs_for_ui.py").write_text(DEFS)
    with dg.instance_for_test() as instance:
        [result] = materialize_sessions(instance, offline_resource(tmp, uploads), KEYS, batch=True)
        assert not result.success  # the step fails, so Dagster marks the bad session's partitions failed
        origin = LoadableTargetOrigin(
            python_file=str(tmp / "defs_for_ui.py"), attribute="defs", working_directory=str(Path.cwd())
        )
        with in_process_test_workspace(instance, origin) as context:
            yield context, result.run_id


def query(context: Any, text: str, **variables: Any) -> dict:
    result = execute_dagster_graphql(context, text, variables)
    assert not result.errors, result.errors
    return result.data


def test_every_check_shows_its_real_result_and_the_bad_sessions_say_why(ui) -> None:
    context, run_id = ui
    for stage, (check, _) in CHECKS.items():
        executions = query(context, EXECUTIONS, asset={"path": [stage.value]}, check=check)[
            "assetCheckExecutions"
        ]
        mine = {e["partition"]: e for e in executions if e["runId"] == run_id}
        assert set(mine) == set(KEYS), (check, mine)
        assert {k: mine[k]["status"] for k in KEYS} == {"k0": "SUCCEEDED", "k1": "FAILED", "k2": "SUCCEEDED"}
        bad = mine[BAD]["evaluation"]
        assert "failed at transcript" in bad["description"] and "empty" in bad["description"], bad
        error = {m["label"]: m.get("text") for m in bad["metadataEntries"]}["error"]
        assert "empty (0 bytes)" in error


def test_a_failed_partitions_page_shows_the_sessions_error(ui) -> None:
    context, run_id = ui
    for stage in CHECKS:
        asset = query(context, PARTITION_PAGE, asset={"path": [stage.value]}, partition=BAD)["assetOrError"]
        assert asset["assetMaterializations"] == []
        [observation] = asset["assetObservations"]
        assert observation["runId"] == run_id and "empty (0 bytes)" in observation["description"]
        entries = {m["label"]: m.get("text") for m in observation["metadataEntries"]}
        assert "empty (0 bytes)" in entries["error"] and entries["failed_stage"] == "transcript"
        good = query(context, PARTITION_PAGE, asset={"path": [stage.value]}, partition="k0")["assetOrError"]
        assert good["assetMaterializations"] and good["assetObservations"] == []
