"""The uploads sensor: registers each ready upload as a partition and requests its run (or a batch's)."""

import math
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dagster as dg

from assets.partitions import RANGE_END, RANGE_START, SESSIONS, sessions_partitions
from pipeline.intake.batching import RunBatch, batch_uploads
from pipeline.intake.discovery import discover
from pipeline.intake.registry import UploadRegistry
from pipeline.intake.tick import DiscoveryCursor
from pipeline.stages import lifecycle
from wiring.jobs import LANE_TAG, LIVE_LANE
from wiring.resources import PipelineResource

if TYPE_CHECKING:  # what define_asset_job returns; Dagster does not export the class
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition


LIVE_PRIORITY = (
    "10"  # uploads go before backfills and re-analysis (-1), in the run queue and the provider budget
)


def run_request(run: RunBatch) -> dg.RunRequest:
    """One session: its partition. Several: the range of the keys this tick added for them.

    The ``learner_id`` tag (one run per learner at a time) goes on every run of one learner. A batch
    of several learners holds all of this tick's sessions of each (``pipeline.intake.batching``); the
    run orders each learner's profile passes, and the learner lock serialises them with any other run.
    """
    tags = (
        {"learner_id": run.learner_ids[0]}
        if len(run.learner_ids) == 1
        else {"learners": str(len(run.learner_ids))}
    )
    tags["dagster/priority"] = LIVE_PRIORITY
    tags[LANE_TAG] = LIVE_LANE  # session_job's own tag says bulk: the sensor's runs may take the kept slot
    if len(run.uploads) == 1:
        return dg.RunRequest(run_key=run.run_key, partition_key=run.session_ids[0], tags=tags)
    return dg.RunRequest(
        run_key=run.run_key, tags={**tags, RANGE_START: run.session_ids[0], RANGE_END: run.session_ids[-1]}
    )


def run_slots(instance: dg.DagsterInstance) -> int:
    """How many runs the instance runs at once (the run queue's limit; 4 when unlimited or unknown).

    A burst is spread over all of them, not only over those free this moment: a burst arriving while
    one run is going would otherwise become one run, executed by one worker, while the other slots
    (and workers) sit idle once that run ends. Runs beyond the free slots wait in the queue.
    """
    try:
        queue = instance.get_concurrency_config().run_queue_config
        limit = queue.max_concurrent_runs if queue is not None else 4
    except Exception:  # another run coordinator: assume dagster.yaml's 4
        limit = 4
    return limit if limit > 0 else 4


#: How often Dagster's daemon evaluates sensors (``dagster._daemon.sensor.MIN_INTERVAL_LOOP_TIME``;
#: tests/dagster/test_sensor.py holds the two equal).
DAEMON_SENSOR_LOOP_SECONDS = 5


def declared_interval(seconds: int) -> int:
    """The ``minimum_interval_seconds`` that makes the sensor tick every ``seconds``, rounded up to a
    multiple of the daemon's 5 s loop.

    The daemon evaluates sensors every 5 s and skips one whose last tick began less than its minimum
    interval ago. A tick is stamped in a worker thread a moment after its loop began, so with exactly
    5 s the next loop finds 4.99 s elapsed and skips it: the sensor ticked every 10 and 5 s by turns
    (7.5 s on average, a lone upload waiting up to 10 s for its tick). Declaring 2 s less lets every
    loop that is due tick.
    """
    loops = max(1, math.ceil(seconds / DAEMON_SENSOR_LOOP_SECONDS))
    return loops * DAEMON_SENSOR_LOOP_SECONDS - 2


def build_uploads_sensor(
    job: "dg.JobDefinition | UnresolvedAssetJobDefinition", interval_seconds: int
) -> dg.SensorDefinition:
    @dg.sensor(
        name="uploads_sensor",
        job=job,
        minimum_interval_seconds=declared_interval(interval_seconds),
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def uploads_sensor(context: dg.SensorEvaluationContext, pipeline: PipelineResource) -> dg.SensorResult:
        """Request runs for the uploads that are new or changed and ready; batch a burst."""
        settings = pipeline.settings()
        status = pipeline.status_store()
        uploads = pipeline.uploads()
        found = discover(
            uploads,
            UploadRegistry(status.engine),
            status,
            DiscoveryCursor.from_json(context.cursor),
            now=time.time(),
            quiet_seconds=settings.quiet_seconds,
            max_sessions=settings.max_runs_per_tick,
            feed=pipeline.change_feed(uploads),
        )
        for rejection in found.rejected:
            # Recorded under its own folder (python -m pipeline.status): no session's row changes.
            context.log.warning(f"rejected upload folder {rejection.folder}/: {rejection.message}")
        existing = {
            u.session_id
            for u in found.ready
            if context.instance.has_dynamic_partition(SESSIONS, u.session_id)
        }
        runs, new_keys = batch_uploads(
            found.ready,
            existing,
            threshold=settings.batch_threshold,
            size=settings.batch_size,
            slots=run_slots(context.instance),
        )
        for upload in found.ready:
            lifecycle.register_upload(
                status,
                upload.session_id,
                upload.learner_id,
                media_key=upload.media_key,
                uploaded_at=datetime.fromtimestamp(upload.seen_at, UTC),
                version=upload.version,
                completed_at=(
                    datetime.fromtimestamp(upload.completed_at, UTC) if upload.completed_at else None
                ),
            )
        batches = [run for run in runs if len(run.uploads) > 1]
        if found.ready or found.waiting or found.rejected or found.backlog:
            context.log.info(
                f"{len(found.ready) + found.backlog} session(s) ready ({len(found.ready)} requested in "
                f"{len(runs)} run(s), {found.backlog} left for the next ticks), batched "
                f"{len(batches)} run(s) / {sum(len(b.uploads) for b in batches)} session(s), "
                f"{found.waiting} waiting, {len(found.rejected)} rejected, "
                f"{sum(u.reupload for u in found.ready)} re-uploaded"
            )
        return dg.SensorResult(
            run_requests=[run_request(run) for run in runs],
            dynamic_partitions_requests=[sessions_partitions.build_add_request(new_keys)] if new_keys else [],
            cursor=found.cursor.to_json(),
        )

    return uploads_sensor
