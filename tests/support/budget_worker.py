"""One run in its own process: sessions through run_sessions on the official Anthropic SDK, with the shared budget.

Used by tests that check two processes never exceed the instance's limits together::

    python -m tests.support.budget_worker --status-db URL --uploads DIR --results DIR --base-url URL \\
        --limits JSON --priority 0 --concurrency 8 SESSION...

Prints the run's CallStats as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.config.limits import parse_limits
from pipeline.providers.analysis.anthropic_analyzer import AnthropicAnalyzer
from pipeline.providers.analysis.rules.analyzer import RuleBasedAnalyzer
from pipeline.stages.runner import STAGES, run_sessions
from pipeline.stages.services import Services
from pipeline.status.budget import ProviderBudget
from pipeline.status.budget_redis import RedisProviderBudget
from pipeline.status.store import StatusStore
from pipeline.storage import LocalStorage


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--status-db", "--uploads", "--results", "--base-url", "--limits"):
        parser.add_argument(name, required=True)
    parser.add_argument("--priority", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-retries", type=int, default=2)
    parser.add_argument("--budget-redis", default="", help="the Redis budget at this URL, not the database's")
    parser.add_argument("sessions", nargs="+")
    args = parser.parse_args()
    status = StatusStore(args.status_db)
    services = Services(
        uploads=LocalStorage(Path(args.uploads)),
        results=LocalStorage(Path(args.results)),
        status=status,
        speech_to_text=RuleBasedAnalyzer(),  # type: ignore[arg-type]  # text sessions only: never called
        analyzer=AnthropicAnalyzer(api_key="sk-test", base_url=args.base_url, max_retries=args.max_retries),
        concurrency=args.concurrency,
        budget=(
            RedisProviderBudget(args.budget_redis, parse_limits(args.limits))
            if args.budget_redis
            else ProviderBudget(status.engine, parse_limits(args.limits))
        ),
        priority=args.priority,
    )
    events = list(run_sessions(services, args.sessions, STAGES))
    stats = services.calls
    failed = [e.session_id for e in events if not e.ok]
    sys.stdout.write(
        json.dumps(
            {
                "calls": stats.calls,
                "waited": stats.waited_seconds,
                "rate_limited": stats.rate_limited,
                "failed": failed,
            }
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
