"""The session asset checks: partitioned like the sessions, evaluated in the step that materializes them.

Why inside ``session_stages``: a run holds one session or a backfill batch, and a separate check step
would be skipped whenever any session of the run failed; here each good session is checked right
after its stage is stored, in every run (the uploads sensor's, backfills, re-analyses). Selecting
only the checks (the UI's "Execute checks") re-checks the stored documents of the chosen sessions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,  # not re-exported; links a check to what it checked
)
from pydantic import BaseModel

from assets.metadata import Metadata
from assets.partitions import sessions_partitions
from pipeline.checks.checker import SessionChecker
from pipeline.checks.evaluations import CheckOutcome
from pipeline.domain.errors import FAILED_STAGE, describe_failure, failure_kind
from pipeline.domain.quality import MAX_WPM, MIN_WPM
from pipeline.stages.runner import Stage, StageEvent

CHECKS: dict[Stage, tuple[str, str]] = {
    Stage.TRANSCRIPT: (
        "transcript_quality",
        f"Speech found, {MIN_WPM:.0f}-{MAX_WPM:.0f} words per minute, not truncated against the declared "
        "duration, recognizer confident.",
    ),
    Stage.INSIGHTS: (
        "insights_grounded",
        "Every example is verbatim in the transcript and every pattern id is in the taxonomy.",
    ),
    Stage.PROFILE: (
        "profile_consistent",
        "The stored snapshot equals a recomputation from the learner's stored insights.",
    ),
}


def session_check_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name, asset=stage.value, description=description, partitions_def=sessions_partitions
        )
        for stage, (name, description) in CHECKS.items()
    ]


def metadata_of(outcome: CheckOutcome) -> Metadata:
    """A check outcome's metadata for Dagster: lists and mappings as JSON (text, never markdown)."""
    metadata: Metadata = {}
    for name, value in outcome.metadata.items():
        if value is None:
            continue
        # Lists quote untrusted text (examples): JSON metadata renders as text, never as markdown.
        metadata[name] = dg.MetadataValue.json(value) if isinstance(value, list | dict) else value
    return metadata


def _target(
    context: dg.AssetExecutionContext, stage: Stage, session_id: str
) -> AssetCheckEvaluationTargetMaterializationData | None:
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(stage.value), asset_partitions=[session_id]), limit=1
    ).records
    if not records:
        return None
    record = records[0]
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )


def evaluation(
    context: dg.AssetExecutionContext, stage: Stage, session_id: str, outcome: CheckOutcome
) -> dg.AssetCheckEvaluation:
    name, _ = CHECKS[stage]
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(stage.value),
        check_name=name,
        passed=outcome.passed,
        metadata=metadata_of(outcome),
        severity=dg.AssetCheckSeverity(outcome.severity),
        description=outcome.description,
        partition=session_id,
        target_materialization_data=_target(context, stage, session_id),
    )


def _selected(context: dg.AssetExecutionContext, stage: Stage) -> bool:
    key = dg.AssetCheckKey(dg.AssetKey(stage.value), CHECKS[stage][0])
    return key in context.selected_asset_check_keys


def _outcome(
    checker: SessionChecker, stage: Stage, session_id: str, document: BaseModel | None = None
) -> CheckOutcome:
    dumped = document.model_dump(mode="json") if document is not None else None
    if stage is Stage.TRANSCRIPT:
        return checker.transcript(session_id, dumped)
    if stage is Stage.INSIGHTS:
        return checker.insights(session_id, dumped)
    return checker.profile(session_id)


def check_events(
    context: dg.AssetExecutionContext, checker: SessionChecker, event: StageEvent
) -> Iterator[dg.AssetCheckEvaluation]:
    """The check of a stage that just stored a session's document (if that check is selected)."""
    if event.ok and _selected(context, event.stage):
        outcome = _outcome(checker, event.stage, event.session_id, event.document)
        yield evaluation(context, event.stage, event.session_id, outcome)
        for later, _ in event.refreshed:  # rewritten snapshots are checked too
            yield evaluation(context, event.stage, later, checker.profile(later))


def failed_check_events(
    context: dg.AssetExecutionContext, event: StageEvent
) -> Iterator[dg.AssetCheckEvaluation]:
    """A failed session's checks, of the stage that failed and every later one: evaluated as failed,
    with the session's error. Left without an evaluation, Dagster would show them as
    EXECUTION_FAILED (the step fails to mark the session's partitions failed) with no reason."""
    assert event.error is not None
    reason = describe_failure(event.error)
    stages = list(Stage)
    for stage in stages[stages.index(event.stage) :]:
        if not _selected(context, stage):
            continue
        yield dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey(stage.value),
            check_name=CHECKS[stage][0],
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"not checked: the session failed at {event.stage.value}: {reason}",
            metadata={
                "error": dg.MetadataValue.text(reason),
                "error_kind": failure_kind(event.error),
                FAILED_STAGE: event.stage.value,
            },
            partition=event.session_id,
        )


def stored_check_events(
    context: dg.AssetExecutionContext, checker: SessionChecker, session_ids: Sequence[str]
) -> Iterator[dg.AssetCheckEvaluation]:
    """Checks selected without their assets: evaluate the stored documents of each session."""
    for session_id in session_ids:
        for stage in CHECKS:
            if _selected(context, stage):
                yield evaluation(context, stage, session_id, _outcome(checker, stage, session_id))


def close_check_outputs(context: dg.AssetExecutionContext) -> Iterator[dg.Output[None]]:
    """An empty output per selected check, at the end of a successful step.

    The checks are reported as evaluations per session (above), which Dagster does not count as the
    step's check outputs; without these it logs "did not yield or return expected outputs" on every
    successful run, which reads like an error.
    """
    assets_def = context.assets_def
    for check_key in sorted(context.selected_asset_check_keys, key=str):
        yield dg.Output(None, output_name=assets_def.get_output_name_for_asset_check_key(check_key))
