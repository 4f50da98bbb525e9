"""``python -m pipeline.status.migrations [upgrade|current]``: migrate the status DB (STATUS_DB_URL)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

import sqlalchemy as sa

from pipeline.config.settings import Settings
from pipeline.status import migrations


def main(argv: list[str] | None = None) -> int:
    """Upgrade the status database to the newest revision, or print the revision it is at."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.status.migrations", description=main.__doc__)
    parser.add_argument("action", choices=["upgrade", "current"], nargs="?", default="upgrade")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    engine = sa.create_engine(Settings.from_env(os.environ).status_db_url)
    try:
        if args.action == "upgrade":
            migrations.upgrade(engine)
        sys.stdout.write(f"{migrations.current(engine)} (head {migrations.head()})\n")
    finally:
        engine.dispose()
    return 0


raise SystemExit(main())
