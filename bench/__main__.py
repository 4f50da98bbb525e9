"""Run every benchmark: ``python -m bench [--sessions N]`` (``make bench``)."""

from __future__ import annotations

import argparse
import logging
import sys

from bench import batch_runs, rules_eval, s3_sensor, session_path, views


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only", choices=("s3_sensor", "session_path", "batch_runs", "rules_eval", "views"), default=None
    )
    s3_sensor.add_arguments(parser)
    session_path.add_arguments(parser)
    batch_runs.add_arguments(parser)
    rules_eval.add_arguments(parser)
    views.add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    benches = {
        "session_path": session_path.run,
        "s3_sensor": s3_sensor.run,
        "batch_runs": batch_runs.run,
        "rules_eval": rules_eval.run,
        "views": views.run,
    }
    ok = all([bench(args) for name, bench in benches.items() if args.only in (None, name)])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
