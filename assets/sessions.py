"""The three session assets. Each body loops over the run's sessions and calls one core function."""


import dagster as dg

from assets.batch import for_each_session, services_of
from assets.metadata import batch_metadata, insights_metadata, profile_metadata, transcript_metadata
from assets.partitions import GROUP, backfill_policy, retry_policy, sessions_partitions
from pipeline.analysis import analyze_session
from pipeline.plan import ProviderPlan
from pipeline.profiling import profile_session
from pipeline.resources import PipelineResource
from pipeline.transcription import transcribe_session


def build_session_assets(plan: ProviderPlan) -> list[dg.AssetsDefinition]:
    """The assets for one provider plan: it sets their pools, kinds and code versions."""
    common = {
        "partitions_def": sessions_partitions,
        "group_name": GROUP,
        "retry_policy": retry_policy,
        "backfill_policy": backfill_policy,
    }

    @dg.asset(
        kinds={"python", plan.stt_provider},
        pool=plan.stt_pool,
        code_version=plan.transcript_code_version,
        **common,
    )
    def transcript(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
        """Speech-to-text of the session's recording (or its uploaded transcript.txt), with pace and duration."""
        services = services_of(pipeline)
        docs = for_each_session(context, lambda key: transcribe_session(services, key))
        if len(docs) == 1:
            return dg.MaterializeResult(metadata=transcript_metadata(next(iter(docs.values()))))
        return dg.MaterializeResult(
            metadata=batch_metadata(
                len(docs),
                total_words=sum(d.word_count for d in docs.values()),
                cost_usd=sum(d.usage.cost_usd for d in docs.values()),
            )
        )

    @dg.asset(
        deps=[transcript],
        kinds={"python", plan.analyzer_provider},
        pool=plan.analyzer_pool,
        code_version=plan.insights_code_version,
        **common,
    )
    def insights(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
        """The 3-5 recurring grammar, vocabulary and structure patterns of the session, with one focus for next time."""
        services = services_of(pipeline)
        docs = for_each_session(context, lambda key: analyze_session(services, key))
        if len(docs) == 1:
            return dg.MaterializeResult(metadata=insights_metadata(next(iter(docs.values()))))
        return dg.MaterializeResult(
            metadata=batch_metadata(
                len(docs),
                cost_usd=sum(d.usage.cost_usd for d in docs.values()),
                input_tokens=sum(d.usage.input_tokens for d in docs.values()),
                output_tokens=sum(d.usage.output_tokens for d in docs.values()),
            )
        )

    @dg.asset(deps=[insights], kinds={"python"}, code_version="profile-v1", **common)
    def pattern_profile(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
        """The learner's cumulative pattern profile as of this session, recomputed from all stored insights."""
        services = services_of(pipeline)
        docs = for_each_session(context, lambda key: profile_session(services, key))
        for key, (_, refreshed) in docs.items():
            for later in (k for k in refreshed if k not in docs):
                # Rewritten from this session's stored insights: the UI shows each snapshot's real age.
                context.log_event(
                    dg.AssetMaterialization(
                        asset_key=context.asset_key, partition=later, metadata={"refreshed_after": key}
                    )
                )
        if len(docs) == 1:
            profile, refreshed = next(iter(docs.values()))
            status = services.status.get(profile.session_id)
            return dg.MaterializeResult(metadata=profile_metadata(profile, refreshed, status))
        return dg.MaterializeResult(
            metadata=batch_metadata(len(docs), refreshed_snapshots=sum(len(r) for _, r in docs.values()))
        )

    return [transcript, insights, pattern_profile]
