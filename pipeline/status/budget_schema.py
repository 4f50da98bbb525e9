"""The tables of the shared provider budget (``pipeline.status.budget``), created in one function.

Kept apart from ``pipeline.status.schema`` so the whole schema change of the budget is this file:
when the status database gains migrations it becomes one revision.
"""

from __future__ import annotations

import sqlalchemy as sa

budget_metadata = sa.MetaData()

leases_table = sa.Table(  # requests in flight; a crashed run's leases expire
    "provider_leases",
    budget_metadata,
    sa.Column("lease_id", sa.String(32), primary_key=True),
    sa.Column("provider", sa.String(32), nullable=False, index=True),
    sa.Column("expires", sa.Float, nullable=False),
)

usage_table = sa.Table(  # requests and tokens of the rolling minute, one row per request
    "provider_usage",
    budget_metadata,
    sa.Column("usage_id", sa.String(32), primary_key=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("input_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("output_tokens", sa.Integer, nullable=False, default=0),
    sa.Index("ix_provider_usage_provider_at", "provider", "at"),
)

waiters_table = sa.Table(  # who waits, with its priority; a waiter refreshes ``seen`` while it waits
    "provider_waiters",
    budget_metadata,
    sa.Column("waiter_id", sa.String(32), primary_key=True),
    sa.Column("provider", sa.String(32), nullable=False, index=True),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("seen", sa.Float, nullable=False),
)

pauses_table = sa.Table(  # a 429's retry-after: the whole instance waits until then
    "provider_pauses",
    budget_metadata,
    sa.Column("provider", sa.String(32), primary_key=True),
    sa.Column("until", sa.Float, nullable=False),
)


health_table = sa.Table(  # when a run last found the provider answering (0: failing since)
    "provider_health",
    budget_metadata,
    sa.Column("provider", sa.String(32), primary_key=True),
    sa.Column("ok_at", sa.Float, nullable=False),
)


def ensure_budget_tables(engine: sa.Engine) -> None:
    budget_metadata.create_all(engine)
