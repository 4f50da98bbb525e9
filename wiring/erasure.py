"""Erasing a learner or a session: ``erasure_job`` (launched from the UI) and ``python -m wiring.erasure``.

Both plan first and delete nothing unless asked (the job's ``dry_run`` defaults to true, the command
needs ``--apply``): the uploads, results, memo entries, status and registry rows (``pipeline.erasure``)
and the instance's partitions, runs, events, ticks and captured logs (``wiring.instance_erasure``).
The logs carry counts and a reference (a digest of the id), never the id or any text.
"""

import argparse
import json
import logging
import os
import sys
from typing import Any

import dagster as dg
from pydantic import Field

from pipeline.domain.errors import PermanentError
from pipeline.erasure.plan import ErasureBusy, ErasureTarget, plan_erasure
from pipeline.erasure.tokens import id_pattern, reference
from wiring.instance_erasure import erase_in_instance, plan_instance, redact_run
from wiring.resources import PipelineResource

log = logging.getLogger(__name__)


def erase_everywhere(
    target: ErasureTarget,
    pipeline: PipelineResource,
    instance: dg.DagsterInstance | None,
    *,
    dry_run: bool = True,
    force: bool = False,
    own_run: str | None = None,
) -> dict[str, Any]:
    """Plan, and unless ``dry_run`` carry out, the erasure of ``target``; returns counts only."""
    uploads, results, status = pipeline.uploads(), pipeline.results(), pipeline.status_store()
    plan = plan_erasure(target, uploads=uploads, results=results, status=status)
    learners = {target.learner_id} if target.learner_id else set()
    in_instance = plan_instance(instance, plan.session_ids, learners, skip_run=own_run) if instance else None
    summary: dict[str, Any] = {"reference": reference(target.learner_id or target.session_id or "")}
    summary["dry_run"] = dry_run
    summary.update(plan.counts())
    if in_instance is not None:
        summary.update(in_instance.counts())
    if not dry_run:
        active = len(in_instance.active_runs) if in_instance is not None else 0
        if (plan.busy or active) and not force:
            raise ErasureBusy(
                f"erasure {summary['reference']}: {len(plan.busy)} session(s) are being transcribed or "
                f"analysed and {active} run(s) that would write them (or the views) again are queued or "
                "going; wait for those runs to end (or terminate them), then erase again"
            )
        if instance is not None and in_instance is not None:  # first: it names the sessions a rerun needs
            summary.update(erase_in_instance(instance, in_instance, skip_run=own_run))
        from pipeline.erasure.run import apply_plan  # loads pandas for the views: not at code load

        report = apply_plan(plan, uploads=uploads, results=results, status=status, force=True)
        summary.update(
            refreshed_snapshots=report.refreshed_snapshots,
            refreshed_views=report.refreshed_views,
            status_db_compacted=int(report.compacted),
        )
    log.info(describe(summary, "learner" if target.learner_id else "session"))
    return summary


def describe(summary: dict[str, Any], what: str) -> str:
    """One log line: the reference, dry run or not, and the counts (never an id or any text)."""
    counts = ", ".join(f"{k} {v}" for k, v in summary.items() if k not in ("reference", "dry_run"))
    dry = " [dry run: nothing deleted]" if summary["dry_run"] else ""
    return f"erasure {summary['reference']} of a {what}{dry}: {counts}"


class ErasureConfig(dg.Config):
    """Exactly one of ``learner_id`` or ``session_id``; nothing is deleted while ``dry_run`` is true."""

    learner_id: str | None = Field(default=None, description="Erase this learner and all their sessions.")
    session_id: str | None = Field(
        default=None, description="Erase this one session (the learner's later snapshots are recomputed)."
    )
    dry_run: bool = Field(default=True, description="Only report what would be erased (the default).")
    force: bool = Field(
        default=False, description="Erase even if a session looks in progress (its run is known to be gone)."
    )


@dg.op(name="erase")
def erase_op(context: dg.OpExecutionContext, config: ErasureConfig, pipeline: PipelineResource) -> None:
    """Erase the configured learner or session, then blank the ids in this run's own config."""
    target = ErasureTarget(learner_id=config.learner_id, session_id=config.session_id)
    try:
        summary = erase_everywhere(
            target,
            pipeline,
            context.instance,
            dry_run=config.dry_run,
            force=config.force,
            own_run=context.run_id,
        )
    finally:
        # The run's config is stored with the run: the id the operator typed must not outlive it.
        redact_run(
            context.instance,
            context.run_id,
            id_pattern([i for i in (config.learner_id, config.session_id) if i]),
        )
    context.log.info(describe(summary, "learner" if config.learner_id else "session"))


@dg.job(
    name="erasure_job",
    description="Erase a learner or one session everywhere (dry_run: true only reports what would go).",
    tags={"dagster/priority": "5"},
)
def erasure_job() -> None:
    erase_op()


def main(argv: list[str] | None = None) -> int:
    """``python -m wiring.erasure (--learner ID | --session ID) [--apply] [--force] [--no-instance]``."""
    parser = argparse.ArgumentParser(prog="python -m wiring.erasure", description=main.__doc__)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--learner", help="erase this learner and all their sessions")
    which.add_argument("--session", help="erase this one session (the learner's profile is recomputed)")
    parser.add_argument("--apply", action="store_true", help="delete (without it: a dry run that reports)")
    parser.add_argument("--force", action="store_true", help="even if a session looks in progress")
    parser.add_argument(
        "--no-instance", action="store_true", help="leave the Dagster instance alone (DAGSTER_HOME unset)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        target = ErasureTarget(learner_id=args.learner, session_id=args.session)
    except PermanentError as exc:
        parser.error(exc.message)
    if not args.no_instance and not os.environ.get("DAGSTER_HOME"):
        parser.error("set DAGSTER_HOME to the instance to erase from, or pass --no-instance")
    instance = None if args.no_instance else dg.DagsterInstance.get()
    try:
        summary = erase_everywhere(
            target, PipelineResource(), instance, dry_run=not args.apply, force=args.force
        )
    except ErasureBusy as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    finally:
        if instance is not None:
            instance.dispose()
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
