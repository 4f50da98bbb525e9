"""``python -m pipeline.status``: the status table and the rejected uploads, for operators and scripts."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from typing import Any

from pipeline.domain.models import SessionState

_HEADER = f"{'SESSION':<24} {'LEARNER':<20} {'STATE':<12} {'UPDATED (UTC)':<20} ERROR\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.status [--learner ID] [--state FAILED] [--rejected] [--json]``; reads STATUS_DB_URL."""
    from pipeline.config.settings import Settings
    from pipeline.status.store import StatusStore

    parser = argparse.ArgumentParser(prog="python -m pipeline.status", description=main.__doc__)
    parser.add_argument("--learner")
    parser.add_argument("--state", choices=[s.value for s in SessionState])
    parser.add_argument("--rejected", action="store_true", help="only the rejected upload folders")
    parser.add_argument(
        "--json", action="store_true", help="one JSON document: sessions and rejected uploads"
    )
    args = parser.parse_args(argv)
    store = StatusStore(Settings.from_env(os.environ).status_db_url)
    try:
        rows = (
            []
            if args.rejected
            else store.list(learner_id=args.learner, state=SessionState(args.state) if args.state else None)
        )
        # Rejected folders are not sessions: they are listed under their folder path, as uploaded.
        rejections = (
            []
            if args.state
            else [
                r
                for r in store.rejections.list()
                if args.learner is None or r.folder.split("/", 1)[0] == args.learner
            ]
        )
    finally:
        store.dispose()
    out = sys.stdout
    if args.json:
        document: dict[str, Any] = {"rejected_uploads": [asdict(r) for r in rejections]}
        if not args.rejected:
            document["sessions"] = [row.model_dump(mode="json") for row in rows]
        out.write(json.dumps(document, default=str, indent=2) + "\n")
        return 0
    if not args.rejected:
        out.write(_HEADER)
        for row in rows:
            out.write(
                f"{row.session_id:<24} {row.learner_id:<20} {row.state.value:<12} "
                f"{row.updated_at:%Y-%m-%d %H:%M:%S}  {row.error or ''}\n"
            )
        if not rows:
            out.write("(no sessions match)\n")
    if args.state:
        return 0
    if not args.rejected:
        out.write("\n")
    if not rejections:
        out.write("no rejected uploads\n")
        return 0
    out.write("rejected uploads (folder as uploaded: reason):\n")
    for rejection in rejections:
        out.write(f"{rejection.folder}/  {rejection.reason}\n")
    return 0
