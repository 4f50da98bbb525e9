"""Which sessions were analysed by another provider, model or prompt than the current configuration.

After a prompt or model change, this lists exactly the sessions to re-analyse::

    dagster job backfill -w workspace.yaml -j reanalysis_job --noprompt \\
        --partitions "$(python -m pipeline.stale)"
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator

from pipeline.config.settings import Settings
from pipeline.domain.models import SessionInsights
from pipeline.providers.plan import ProviderPlan, provider_plan
from pipeline.storage import Storage, open_storage

log = logging.getLogger(__name__)


def stale_sessions(results: Storage, plan: ProviderPlan) -> Iterator[str]:
    """Session ids whose stored insights differ from ``plan`` in provider, model or prompt version."""
    current = (plan.analyzer_provider, plan.analyzer_model, plan.prompt_version)
    for info in sorted(results.list("insights/"), key=lambda i: i.key):
        if not info.key.endswith(".json"):
            continue
        try:
            doc = results.read_model(info.key, SessionInsights)
        except ValueError:
            log.warning("unreadable insights document %s: listed as stale", info.key)
            yield info.key.rsplit("/", 1)[-1].removesuffix(".json")
            continue
        if (doc.provider, doc.model, doc.prompt_version) != current:
            yield doc.session_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.stale", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = Settings.from_env(os.environ)
    client = None
    if settings.results_uri.startswith("s3://"):
        import boto3

        client = boto3.client("s3")
    plan = provider_plan(
        settings,
        openai_key=os.environ.get("OPENAI_API_KEY") or None,
        anthropic_key=os.environ.get("ANTHROPIC_API_KEY") or None,
    )
    sys.stdout.write(
        ",".join(stale_sessions(open_storage(settings.results_uri, s3_client=client), plan)) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
