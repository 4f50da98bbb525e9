"""``python -m pipeline.status``: the status table and the rejected uploads, for operators."""

from __future__ import annotations

import argparse
import os
import sys

from pipeline.domain.models import SessionState


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.status [--learner ID] [--state FAILED] [--rejected]``; reads STATUS_DB_URL."""
    from pipeline.config.settings import Settings
    from pipeline.status.store import StatusStore

    parser = argparse.ArgumentParser(prog="python -m pipeline.status", description=main.__doc__)
    parser.add_argument("--learner")
    parser.add_argument("--state", choices=[s.value for s in SessionState])
    parser.add_argument("--rejected", action="store_true", help="only the rejected upload folders")
    args = parser.parse_args(argv)
    store = StatusStore(Settings.from_env(os.environ).status_db_url)
    out = sys.stdout
    if not args.rejected:
        rows = store.list(learner_id=args.learner, state=SessionState(args.state) if args.state else None)
        for row in rows:
            out.write(
                f"{row.session_id:<24} {row.learner_id:<20} {row.state.value:<12} "
                f"{row.updated_at:%Y-%m-%d %H:%M:%S}  {row.error or ''}\n"
            )
    # Rejected folders are not sessions: they are listed under their folder path, as uploaded.
    rejections = [
        r
        for r in store.rejections.list()
        if args.learner is None or r.folder.split("/", 1)[0] == args.learner
    ]
    if rejections and not args.state:
        if not args.rejected:
            out.write("\nrejected uploads (folder as uploaded: reason):\n")
        for rejection in rejections:
            out.write(f"{rejection.folder}/  {rejection.reason}\n")
    return 0
