"""Running one core function over every session of a run, with failures kept per session."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import dagster as dg

from pipeline.errors import PermanentError
from pipeline.resources import PipelineResource
from pipeline.services import Services
from pipeline.settings import ConfigError
from pipeline.tracking import describe_failure

T = TypeVar("T")


class SessionsFailed(Exception):
    """Some sessions of a run hit a retryable failure; the step's RetryPolicy decides what happens."""


def services_of(pipeline: PipelineResource) -> Services:
    """Build the run's services; a configuration error fails the step at once (retrying cannot fix it)."""
    try:
        return pipeline.services()
    except ConfigError as exc:
        raise dg.Failure(description=f"configuration error: {exc}", allow_retries=False) from None


def for_each_session(context: dg.AssetExecutionContext, stage: Callable[[str], T]) -> dict[str, T]:
    """Call ``stage`` for every partition key of the run; every session is attempted.

    A failure of one session never stops the others of the run: their results are stored (and
    memoized, so a retry is free). Then a retryable failure raises for the RetryPolicy, and
    permanent ones raise ``Failure(allow_retries=False)`` naming each failed session.
    """
    done: dict[str, T] = {}
    permanent: dict[str, str] = {}
    retryable: dict[str, str] = {}
    for key in context.partition_keys:
        try:
            done[key] = stage(key)
        except PermanentError as exc:
            permanent[key] = exc.message
            context.log.error(f"session {key} failed permanently: {exc.message}")
        except Exception as exc:
            retryable[key] = describe_failure(exc)
            context.log.warning(f"session {key} failed, retryable: {retryable[key]}")
    if retryable:
        raise SessionsFailed("; ".join(f"{key}: {message}" for key, message in retryable.items()))
    if permanent:
        lines = [f"- {key}: {message}" for key, message in permanent.items()]
        raise dg.Failure(
            description=(
                f"{len(permanent)} of {len(context.partition_keys)} session(s) failed permanently:\n"
                + "\n".join(lines)
            ),
            metadata={"failed_sessions": dg.MetadataValue.json(permanent), "succeeded": len(done)},
            allow_retries=False,
        )
    return done
