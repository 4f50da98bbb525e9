"""The one partitions definition and the run policies shared by every session asset."""

from __future__ import annotations

import dagster as dg

sessions_partitions = dg.DynamicPartitionsDefinition(name="sessions")

#: Transient failures (rate limits, timeouts, 5xx) retry with exponential backoff and jitter:
#: waits of about 10 s, 20 s and 40 s. Permanent failures skip this (Failure(allow_retries=False)).
retry_policy = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

#: Backfills batch sessions (the sensor path runs one session per run, for latency and isolation).
backfill_policy = dg.BackfillPolicy.multi_run(max_partitions_per_run=50)

GROUP = "speaking_sessions"
