"""Computing and writing the views' files: what the views' step does, and what erasure redoes at once."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.status.store import StatusStore
from pipeline.storage import Storage
from pipeline.views.charts import cohort_chart, health_chart, learner_rates_chart
from pipeline.views.frames import cohort_patterns, learner_progress, pipeline_health, session_rates
from pipeline.views.io import ViewInputs, load_inputs, view_key, write_view


@dataclass(frozen=True)
class WrittenView:
    frame: pd.DataFrame
    png: bytes | None
    where: dict[str, str]  # suffix -> location


def _png_copy(results: Storage, name: str, png: bytes | None) -> None:
    if png is not None:
        results.write_bytes(view_key(name, "png"), png)


def write_learner_progress(results: Storage, inputs: ViewInputs) -> WrittenView:
    frame = learner_progress(inputs.sessions, inputs.patterns)
    where = write_view(results, "learner_progress", frame)
    png = learner_rates_chart(session_rates(inputs.sessions, inputs.patterns))
    _png_copy(results, "learner_progress", png)
    return WrittenView(frame, png, where)


def write_cohort_patterns(results: Storage, inputs: ViewInputs) -> WrittenView:
    frame = cohort_patterns(inputs.sessions, inputs.patterns)
    where = write_view(results, "cohort_patterns", frame)
    png = cohort_chart(frame)
    _png_copy(results, "cohort_patterns", png)
    return WrittenView(frame, png, where)


def write_pipeline_health(results: Storage, inputs: ViewInputs) -> WrittenView:
    frame = pipeline_health(inputs.sessions)
    where = write_view(results, "pipeline_health", frame)
    png = health_chart(frame)
    _png_copy(results, "pipeline_health", png)
    return WrittenView(frame, png, where)


WRITERS = {
    "learner_progress": write_learner_progress,
    "cohort_patterns": write_cohort_patterns,
    "pipeline_health": write_pipeline_health,
}


def refresh_written_views(results: Storage, status: StatusStore) -> list[str]:
    """Rewrite the views already written (never create one), from the stores as they are now."""
    names = [name for name in WRITERS if results.exists(view_key(name, "parquet"))]
    if names:
        inputs = load_inputs(results, status)
        for name in names:
            WRITERS[name](results, inputs)
    return names
