"""The uploads sensor: registers each ready upload as a partition and requests one run for it."""


import time
from datetime import UTC, datetime

import dagster as dg

from assets.partitions import sessions_partitions
from pipeline.discovery import DiscoveryCursor, discover
from pipeline.models import SessionState
from pipeline.resources import PipelineResource
from pipeline.uploads import Rejection


def _reject(context: dg.SensorEvaluationContext, pipeline: PipelineResource, rejection: Rejection) -> None:
    # Not a valid partition key, so it can't get a run: the status store is where it fails visibly.
    context.log.warning(f"rejected upload {rejection.key}: {rejection.message}")
    pipeline.status_store().set_state(
        rejection.session_id[:64],
        SessionState.FAILED,
        learner_id=rejection.learner_id[:64],
        error=rejection.message,
    )


def build_uploads_sensor(job: dg.JobDefinition | object, interval_seconds: int) -> dg.SensorDefinition:
    @dg.sensor(
        name="uploads_sensor",
        job=job,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def uploads_sensor(context: dg.SensorEvaluationContext, pipeline: PipelineResource) -> dg.SensorResult:
        """Look at what changed in the uploads since the last tick; one run per newly ready session."""
        settings = pipeline.settings()
        status = pipeline.status_store()
        uploads = pipeline.uploads()
        found = discover(
            uploads,
            DiscoveryCursor.from_json(context.cursor),
            now=time.time(),
            quiet_seconds=settings.quiet_seconds,
            max_sessions=settings.max_runs_per_tick,
            feed=pipeline.change_feed(uploads),
        )
        for rejection in found.rejected:
            _reject(context, pipeline, rejection)
        run_requests, new_keys = [], []
        for upload in found.ready:
            known = status.get(upload.session_id)
            if known is not None and known.learner_id and known.learner_id != upload.learner_id:
                context.log.warning(
                    f"session id {upload.session_id} of learner {upload.learner_id} is already used by learner "
                    f"{known.learner_id}; session ids must be unique across learners: rename the folder"
                )
                continue
            status.register(
                upload.session_id,
                upload.learner_id,
                media_key=upload.media.key if upload.media else None,
                uploaded_at=datetime.fromtimestamp(upload.latest_change, UTC),
            )
            if not context.instance.has_dynamic_partition(sessions_partitions.name, upload.session_id):
                new_keys.append(upload.session_id)
            run_requests.append(
                dg.RunRequest(
                    run_key=upload.session_id,
                    partition_key=upload.session_id,
                    tags={"learner_id": upload.learner_id},
                )
            )
        if run_requests or found.waiting:
            context.log.info(f"{len(run_requests)} session(s) ready, {found.waiting} still settling")
        return dg.SensorResult(
            run_requests=run_requests,
            dynamic_partitions_requests=[sessions_partitions.build_add_request(new_keys)] if new_keys else [],
            cursor=found.cursor.to_json(),
        )

    return uploads_sensor
