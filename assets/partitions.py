"""The one partitions definition and the run policies shared by every session asset."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

SESSIONS = "sessions"
sessions_partitions = dg.DynamicPartitionsDefinition(name=SESSIONS)

#: The tags of a run over a range of session partitions (a batched sensor run or a backfill's run),
#: as Dagster itself writes them: the first and last key, in the order the keys were added.
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"

#: Transient failures (rate limits, timeouts, 5xx) retry the step with exponential backoff and jitter.
#: Dagster waits ((2 ** n) - 1) * delay +/- delay before retry n: 0-20 s, 20-40 s, then 60-80 s
#: (about 110 s in all on average). A retry redoes only the sessions not yet materialized in the
#: run; permanent failures skip it (Failure(allow_retries=False)).
retry_policy = dg.RetryPolicy(
    max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

#: Backfills batch sessions; each session of a batch still ends on its own (see assets/sessions.py).
backfill_policy = dg.BackfillPolicy.multi_run(max_partitions_per_run=25)

GROUP = "speaking_sessions"

#: The freshness the UI reports for pattern_profile and the views: WARN when nothing was profiled
#: (or refreshed) for 6 hours, FAIL after 24 hours, which on a cohort that uploads daily means
#: processing has fallen behind the uploads (the uploads sensor or the runs are stuck).
freshness_policy = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=24), warn_window=timedelta(hours=6)
)
