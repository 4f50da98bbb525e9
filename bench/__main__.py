"""Run every benchmark: ``python -m bench [--sessions N]`` (``make bench``)."""

from __future__ import annotations

import argparse
import logging
import sys

from bench import s3_sensor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    s3_sensor.add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    ok = s3_sensor.run(args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
