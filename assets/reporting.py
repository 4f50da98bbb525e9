"""The Dagster side of a run over sessions: per-partition materializations, and one verdict at the end.

A step covers every session of its run, but Dagster records each session on its own: a stage that
succeeds is reported at once as an ``AssetMaterialization`` of that session's partition, carrying
the code version and data versions Dagster would have recorded for an output (so staleness works),
and a session that fails is simply not materialized. At the end the step fails if any session did,
naming each: the run is then failed, so Dagster marks exactly the sessions it did not materialize
as failed partitions, and the good ones stay materialized.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from assets.metadata import Metadata, insights_metadata, profile_metadata, transcript_metadata
from pipeline.config.settings import ConfigError
from pipeline.domain.errors import FAILED_STAGE, describe_failure, failure_kind
from pipeline.domain.models import PatternProfile, SessionInsights, Transcript
from pipeline.domain.snapshots import snapshot_digest
from pipeline.stages.runner import Stage, StageEvent
from pipeline.stages.services import Services
from wiring.attempts import attempt_checkpoint
from wiring.resources import PipelineResource

# The tags Dagster itself writes on materializations for data versioning (dagster._core.definitions.data_version).
CODE_VERSION_TAG = "dagster/code_version"
DATA_VERSION_TAG = "dagster/data_version"
INPUT_DATA_VERSION_TAG = "dagster/input_data_version/"
INPUT_EVENT_POINTER_TAG = "dagster/input_event_pointer/"
UPSTREAM = {Stage.INSIGHTS: Stage.TRANSCRIPT, Stage.PROFILE: Stage.INSIGHTS}


def _terminated(context: dg.AssetExecutionContext) -> bool:
    """The run was stopped from outside: terminated (CANCELING, CANCELED) or already ended by run
    monitoring (FAILURE: past its maximum runtime, or its worker judged gone) while its step still runs."""
    run = context.instance.get_run_by_id(context.run_id)
    return run is not None and (run.status is dg.DagsterRunStatus.CANCELING or run.is_finished)


def not_terminated(context: dg.AssetExecutionContext) -> None:
    """Fail a retry attempt of a run a user terminated: Dagster retries an interrupted step under its
    RetryPolicy (meant for a preempted worker), which would redo, and pay for, what was just stopped."""
    if context.retry_number and _terminated(context):
        raise dg.Failure(description="the run was terminated: not retried", allow_retries=False)


@contextmanager
def terminate_is_final(context: dg.AssetExecutionContext) -> Iterator[None]:
    """An interruption of a terminated run (CANCELING) ends the step for good: Dagster would turn it
    into a retry under the RetryPolicy (10 s later, the run still CANCELING meanwhile). Any other
    interruption (a preempted worker) is left to the policy."""
    try:
        yield
    except (dg.DagsterExecutionInterruptedError, KeyboardInterrupt):
        if _terminated(context):
            raise dg.Failure(description="interrupted: the run was terminated", allow_retries=False) from None
        raise


def services_of(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> Services:
    """The run's services; a configuration error fails the step at once (retrying cannot fix it)."""
    not_terminated(context)
    try:
        services = pipeline.services()
    except ConfigError as exc:
        raise dg.Failure(description=f"configuration error: {exc}", allow_retries=False) from None
    services.run_id = context.run_id
    try:  # live uploads (sensor runs, priority 10) are served by the shared budget before backfills (-1)
        services.priority = int(context.run.tags.get("dagster/priority", "0"))
    except ValueError:
        services.priority = 0
    services.checkpoint = attempt_checkpoint(context)
    if context.retry_number:
        for breaker in services.breakers.values():
            breaker.half_open()  # the RetryPolicy's wait has passed: let one call probe the provider
    return services


def done_in_run(context: dg.AssetExecutionContext) -> dict[str, set[Stage]]:
    """What earlier attempts of this step already materialized, so a retry does not redo it. Read on
    the first try too: a run resumed on another worker starts its step at retry number 0."""
    done: dict[str, set[Stage]] = {}
    for entry in context.instance.all_logs(context.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = entry.asset_materialization
        if materialization is not None and materialization.partition:
            done.setdefault(materialization.partition, set()).add(Stage(materialization.asset_key.path[-1]))
    return done


def data_version(document: object) -> str:
    """A digest of what a stage stored: unchanged content keeps downstream partitions fresh."""
    if isinstance(document, PatternProfile):
        return snapshot_digest(document)[:24]
    if isinstance(document, Transcript):
        content = {"text": document.text, "input": document.input_sha256, "model": document.model}
    elif isinstance(document, SessionInsights):
        content = document.analysis.model_dump(mode="json")
    else:
        raise TypeError(f"no data version for {type(document).__name__}")
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:24]


def _provenance(context: dg.AssetExecutionContext, stage: Stage, partition: str) -> dict[str, str]:
    upstream = UPSTREAM.get(stage)
    if upstream is None:
        return {}
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(upstream.value), asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return {}
    record = records[0]
    version = (record.asset_materialization.tags or {}).get(DATA_VERSION_TAG, "INITIAL")
    return {
        INPUT_DATA_VERSION_TAG + upstream.value: version,
        INPUT_EVENT_POINTER_TAG + upstream.value: str(record.storage_id),
    }


def materialization(
    context: dg.AssetExecutionContext, stage: Stage, partition: str, version: str, metadata: Metadata
) -> dg.AssetMaterialization:
    key = dg.AssetKey(stage.value)
    spec = context.assets_def.specs_by_key[key]
    tags = {DATA_VERSION_TAG: version, **_provenance(context, stage, partition)}
    if spec.code_version:
        tags[CODE_VERSION_TAG] = spec.code_version
    return dg.AssetMaterialization(asset_key=key, partition=partition, metadata=metadata, tags=tags)


def report(
    context: dg.AssetExecutionContext, services: Services, event: StageEvent
) -> list[dg.AssetMaterialization]:
    """The materializations for one successful stage event (a profile pass may refresh later snapshots)."""
    document = event.document
    if isinstance(document, Transcript):
        metadata = transcript_metadata(document)
    elif isinstance(document, SessionInsights):
        metadata = insights_metadata(document)
    else:
        assert isinstance(document, PatternProfile)
        metadata = profile_metadata(
            document, [later for later, _ in event.refreshed], services.status.get(event.session_id)
        )
    events = [materialization(context, event.stage, event.session_id, data_version(document), metadata)]
    for later, digest in event.refreshed:
        # Rewritten because this session changed: the UI shows each snapshot's real age.
        events.append(
            materialization(context, event.stage, later, digest[:24], {"refreshed_after": event.session_id})
        )
    return events


def failure_observations(
    context: dg.AssetExecutionContext, event: StageEvent, stages: set[Stage]
) -> list[dg.AssetObservation]:
    """The session's error on each partition it did not materialize (the failed stage and every later
    selected one): a failed partition's page then says why. Dagster's own failure events
    (``ASSET_FAILED_TO_MATERIALIZE``) are neither emitted by user code nor stored by the open-source
    event log, so an observation carries it."""
    assert event.error is not None
    reason = describe_failure(event.error)
    order = list(Stage)
    return [
        dg.AssetObservation(
            asset_key=stage.value,
            partition=event.session_id,
            description=f"failed at {event.stage.value}: {reason}",
            metadata={
                "error": dg.MetadataValue.text(reason),
                "error_kind": failure_kind(event.error),
                FAILED_STAGE: event.stage.value,
                "failed_in_run": dg.MetadataValue.dagster_run(context.run_id),
            },
        )
        for stage in order[order.index(event.stage) :]
        if stage in stages
    ]


def report_provider_use(context: dg.AssetExecutionContext, services: Services) -> None:
    """Say in the run's tags and log how many provider requests it made, its wait for the budget, its 429s."""
    calls = services.calls
    tags = {
        "provider/provider_calls": str(calls.calls),
        "provider/budget_wait_seconds": f"{calls.waited_seconds:.1f}",
        "provider/rate_limited": str(calls.rate_limited),
    }
    try:
        context.instance.add_run_tags(context.run_id, tags)
    except Exception as exc:  # the figures are informative: never fail a run over them
        context.log.warning(f"could not tag the run with its provider use: {exc}")
    context.log.info(
        f"provider requests: {calls.calls}, waited for the shared budget: {calls.waited_seconds:.1f} s "
        f"(summed over the run's threads), 429s met: {calls.rate_limited}"
    )


def verdict(context: dg.AssetExecutionContext, failures: dict[str, StageEvent]) -> None:
    """Fail the step if any session failed: permanently (no retry), or transiently (the RetryPolicy)."""
    if not failures:
        return
    errors = {key: event.error for key, event in failures.items() if event.error is not None}
    lines = [
        f"- {key}: {describe_failure(error)} ({failures[key].stage.value})" for key, error in errors.items()
    ]
    retryable = [key for key, error in errors.items() if failure_kind(error) == "transient"]
    total = len(context.partition_keys)
    succeeded = total - len(failures)
    raise dg.Failure(
        description=(
            f"{len(failures)} of {total} session(s) failed"
            + (f", {len(retryable)} of them transiently (retried with backoff)" if retryable else "")
            + f"; {succeeded} materialized:\n"
            + "\n".join(lines)
        ),
        metadata={
            "failed_sessions": dg.MetadataValue.json(
                {key: describe_failure(error) for key, error in errors.items()}
            ),
            "retryable_sessions": dg.MetadataValue.json(retryable),
            "succeeded": succeeded,
        },
        allow_retries=bool(retryable),
    )
