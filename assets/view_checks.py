"""The views' asset checks: evaluated in the views' step on each view as just written (its Parquet).

Selecting only the checks (the UI's *Execute checks*) checks the views as they are stored, against
the sessions stored now. The checks themselves are plain functions in ``pipeline.checks.views``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import dagster as dg

from assets.checks import metadata_of
from pipeline.storage import Storage

if TYPE_CHECKING:  # pandas loads in the views' step, never with the code location
    from pipeline.views.io import ViewInputs

VIEWS = ("learner_progress", "cohort_patterns", "pipeline_health")
VIEW_CHECKS = {
    "schema_unchanged": "The written view has the documented columns, in order, with their types.",
    "rows_match_sessions": "The view's session counts agree with the stored sessions it was built from.",
}


def view_check_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=view, description=description)
        for view in VIEWS
        for name, description in VIEW_CHECKS.items()
    ]


def view_check_results(
    context: dg.AssetExecutionContext, results: Storage, view: str, inputs: ViewInputs
) -> Iterator[dg.AssetCheckResult]:
    """The selected checks of ``view``, on its Parquet as stored now."""
    from pipeline.checks.views import rows_match_sessions, schema_unchanged
    from pipeline.views.frames import COHORT_COLUMNS, HEALTH_COLUMNS, PROGRESS_COLUMNS
    from pipeline.views.io import read_view

    selected = {
        name
        for name in VIEW_CHECKS
        if dg.AssetCheckKey(dg.AssetKey(view), name) in context.selected_asset_check_keys
    }
    if not selected:
        return
    try:
        frame = read_view(results, view)
    except FileNotFoundError:
        frame = None
    expected = {
        "learner_progress": PROGRESS_COLUMNS,
        "cohort_patterns": COHORT_COLUMNS,
        "pipeline_health": HEALTH_COLUMNS,
    }[view]
    outcomes = {
        "schema_unchanged": lambda: schema_unchanged(frame, expected),
        "rows_match_sessions": lambda: rows_match_sessions(view, frame, inputs.sessions, inputs.patterns),
    }
    for name in sorted(selected):
        outcome = outcomes[name]()
        yield dg.AssetCheckResult(
            asset_key=view,
            check_name=name,
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity(outcome.severity),
            description=outcome.description,
            metadata=metadata_of(outcome),
        )
