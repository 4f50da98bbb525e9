"""The step's side of attempt fencing (``launchers/celery_guard.py``): before each stage, check that
the run still names this process's attempt, and stop the process if it does not.

The launcher writes the run's current attempt (the Celery task id) and the attempt's holder as run
tags; the layer rules keep this module from importing the launchers, so it reads the same tags
(tests/unit/test_attempts.py keeps the two in step). A run not executed by a Celery worker has no
holder tag, and the checkpoint does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping

import dagster as dg

log = logging.getLogger(__name__)

ATTEMPT_TAG = "dagster-celery/task_id"
HOLDER_TAG = "speaking/attempt_holder"
STALE_EXIT = 75


def stale_reason(tags: Mapping[str, str]) -> str | None:
    """Why this process no longer owns the run with these tags, or None (it does, or no worker holds it)."""
    holder = dict(part.split("=", 1) for part in tags.get(HOLDER_TAG, "").split() if "=" in part)
    if not holder:
        return None
    if (holder.get("host"), holder.get("pid")) != (socket.gethostname(), str(os.getpid())):
        return f"the run is now held by {tags[HOLDER_TAG]}"
    if tags.get(ATTEMPT_TAG) != holder.get("attempt"):
        return f"attempt {holder.get('attempt')} was superseded by attempt {tags.get(ATTEMPT_TAG)}"
    return None


def attempt_checkpoint(context: dg.AssetExecutionContext) -> Callable[[], None]:
    """The ``Services.checkpoint`` of a step: a stale attempt exits at once and writes nothing more,
    as if its machine had died (raising would record a step failure over the current attempt's run)."""
    instance, run_id = context.instance, context.run_id

    def checkpoint() -> None:
        run = instance.get_run_by_id(run_id)
        reason = stale_reason(run.tags) if run is not None else None
        if reason is not None:
            log.error("stopping run %s in pid %s before its next stage: %s", run_id, os.getpid(), reason)
            for handler in logging.getLogger().handlers:
                handler.flush()
            os._exit(STALE_EXIT)

    return checkpoint
