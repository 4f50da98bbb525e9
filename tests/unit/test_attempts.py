"""The step's fence (wiring.attempts) reads the tags the Celery worker writes (launchers.celery_guard)."""

from __future__ import annotations

import os
import socket

from launchers import celery_guard
from wiring import attempts


def test_the_fence_and_the_worker_agree_on_tags_format_and_exit_status() -> None:
    assert attempts.ATTEMPT_TAG == celery_guard.ATTEMPT_TAG
    assert attempts.HOLDER_TAG == celery_guard.HOLDER_TAG
    assert attempts.STALE_EXIT == celery_guard.STALE_EXIT
    mine = str(celery_guard.Holder.me("a1"))
    assert celery_guard.Holder.parse(mine) == celery_guard.Holder("a1", socket.gethostname(), os.getpid())
    assert attempts.stale_reason({attempts.ATTEMPT_TAG: "a1", attempts.HOLDER_TAG: mine}) is None
    assert "superseded" in (
        attempts.stale_reason({attempts.ATTEMPT_TAG: "a2", attempts.HOLDER_TAG: mine}) or ""
    )
    other = str(celery_guard.Holder("a1", "elsewhere", 1))
    assert "held by" in (
        attempts.stale_reason({attempts.ATTEMPT_TAG: "a1", attempts.HOLDER_TAG: other}) or ""
    )
    assert attempts.stale_reason({}) is None, "a run no worker holds is never fenced"
