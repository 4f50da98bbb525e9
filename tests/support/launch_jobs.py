"""A code location for the run launcher tests: one job whose run waits until it is stopped."""

from __future__ import annotations

import time

import dagster as dg


@dg.op
def wait_a_minute() -> None:
    """Stand in for a long session: a worker to kill or terminate while it runs."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.05)


@dg.job(executor_def=dg.in_process_executor)
def waiting_job() -> None:
    wait_a_minute()


defs = dg.Definitions(jobs=[waiting_job])
