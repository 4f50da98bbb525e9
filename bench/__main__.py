"""Run every benchmark: ``python -m bench [--only NAME]`` (``make bench``)."""

from __future__ import annotations

import argparse
import logging
import sys

from bench import (
    backfill_priority,
    batch_runs,
    budget_contention,
    celery_scaling,
    celery_workers,
    cloud_throughput,
    learner_eval,
    rules_eval,
    run_start,
    s3_sensor,
    session_path,
    stt,
    upload_burst,
    views,
)

#: Each bench module offers ``add_arguments(parser)`` and ``run(args) -> bool``.
BENCHES = {
    "session_path": session_path,
    "s3_sensor": s3_sensor,
    "batch_runs": batch_runs,
    "upload_burst": upload_burst,
    "rules_eval": rules_eval,
    "learner_eval": learner_eval,
    "stt": stt,
    "views": views,
    "run_start": run_start,
    "celery_workers": celery_workers,
    "celery_scaling": celery_scaling,
    "cloud_throughput": cloud_throughput,
    "budget_contention": budget_contention,
    "backfill_priority": backfill_priority,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=tuple(BENCHES), default=None)
    for module in BENCHES.values():
        module.add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    ok = all([module.run(args) for name, module in BENCHES.items() if args.only in (None, name)])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
