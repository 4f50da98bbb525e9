"""The three session assets, materialized by one step that takes each session through its stages.

Why one step: Dagster records a step over many partitions as one unit, so with one asset per step
a single bad session in a backfill fails the transcript step and skips insights and profiles for
every session of the run. Here the step runs transcript -> insights -> pattern_profile per session
and reports each session's partitions on their own (``assets.reporting``), so every good session of a
run ends materialized and the bad ones failed, within the run itself. The assets stay three (their
own lineage, code versions, kinds and metadata in the UI) and subsettable: ``reanalysis_job``
selects insights and pattern_profile only.
"""

from typing import Any

import dagster as dg

from assets.checks import (
    check_events,
    close_check_outputs,
    failed_check_events,
    session_check_specs,
    stored_check_events,
)
from assets.partitions import GROUP, backfill_policy, freshness_policy, retry_policy, sessions_partitions
from assets.reporting import (
    done_in_run,
    failure_observations,
    report,
    report_provider_use,
    services_of,
    terminate_is_final,
    verdict,
)
from pipeline.checks.checker import SessionChecker
from pipeline.providers.plan import ProviderPlan
from pipeline.stages.runner import Stage, StageEvent, run_sessions
from wiring.resources import PipelineResource


def build_session_assets(
    plan: ProviderPlan, retry: dg.RetryPolicy = retry_policy
) -> list[dg.AssetsDefinition]:
    """The session assets for one provider plan: it sets their pool, kinds and code versions."""
    common: dict[str, Any] = {"partitions_def": sessions_partitions, "group_name": GROUP, "skippable": True}
    specs = [
        dg.AssetSpec(
            Stage.TRANSCRIPT.value,
            description="Speech-to-text of the session's recording (or its uploaded transcript.txt), with pace and duration.",
            kinds={"python", plan.stt_provider},
            code_version=plan.transcript_code_version,
            **common,
        ),
        dg.AssetSpec(
            Stage.INSIGHTS.value,
            description="The 3-5 recurring grammar, vocabulary and structure patterns of the session, with one focus for next time.",
            deps=[Stage.TRANSCRIPT.value],
            kinds={"python", plan.analyzer_provider},
            code_version=plan.insights_code_version,
            **common,
        ),
        dg.AssetSpec(
            Stage.PROFILE.value,
            description="The learner's cumulative pattern profile as of this session, recomputed from all stored insights.",
            deps=[Stage.INSIGHTS.value],
            kinds={"python"},
            code_version="profile-v1",
            freshness_policy=freshness_policy,
            **common,
        ),
    ]

    @dg.multi_asset(
        name="session_stages",
        specs=specs,
        check_specs=session_check_specs(),
        can_subset=True,
        partitions_def=sessions_partitions,
        pool=plan.pool,
        retry_policy=retry,
        backfill_policy=backfill_policy,
    )
    def session_stages(context: dg.AssetExecutionContext, pipeline: PipelineResource):  # noqa: ANN201 - a generator of events
        """Each session of the run through the selected stages; every session ends on its own."""
        services = services_of(context, pipeline)
        stages = {Stage(key.path[-1]) for key in context.selected_asset_keys}
        failures: dict[str, StageEvent] = {}
        checker = SessionChecker(services.results, services.status)
        if not stages:  # only checks selected: re-check what is stored
            yield from stored_check_events(context, checker, context.partition_keys)
        with terminate_is_final(context):
            for event in run_sessions(services, context.partition_keys, stages, done=done_in_run(context)):
                if event.ok:
                    yield from report(context, services, event)
                    yield from check_events(context, checker, event)
                else:
                    failures[event.session_id] = event
                    yield from failure_observations(context, event, stages)
                    yield from failed_check_events(context, event)
                    context.log.warning(
                        f"session {event.session_id} failed at {event.stage.value}: {event.error}"
                    )
        report_provider_use(context, services)
        verdict(context, failures)
        yield from close_check_outputs(context)

    return [session_stages]
