"""One budget per provider for the whole instance, kept in the status database all runs share.

Every request to a cloud provider first takes a lease here (``acquire``) and gives it back with
what it used (``release``). A lease is granted when the provider has a free slot of its
``concurrency``, room in its rolling minute of requests and tokens, no ``429`` pause in force, and
no waiter of a higher priority (live uploads before backfills). The decision is one short
transaction, serialized per database: ``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory
lock per provider on PostgreSQL, so two processes never both take the last slot. Within a process
the decisions are serialized first by a ``threading.Lock`` per database (SQLite's one writer) or per
provider (PostgreSQL's lock): a run's many threads then queue on a cheap in-process lock instead of
contending for SQLite's write lock, whose busy handler sleeps and retries. Leases of a
crashed run expire after ``lease_seconds``; waiters that stop polling drop out after a few seconds.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from pipeline.config.limits import ProviderLimits
from pipeline.status.budget_schema import (
    ensure_budget_tables,
    health_table,
    leases_table,
    pauses_table,
    usage_table,
    waiters_table,
)

log = logging.getLogger(__name__)
WAITER_TTL = 5.0
POLL = 0.2
MARGIN = 0.5  # seconds added to the window: a request reaches the provider a little after its lease
_local_locks: dict[tuple[str, str], threading.Lock] = {}  # per process: (database, provider or "")
_local_guard = threading.Lock()


@dataclass(frozen=True)
class Lease:
    provider: str
    lease_id: str
    waited: float  # seconds spent waiting for the budget


class ProviderBudget:
    """The instance's budget for each provider in ``limits`` (others are not limited)."""

    def __init__(self, engine: sa.Engine, limits: Mapping[str, ProviderLimits]) -> None:
        self.engine = engine
        self.limits = dict(limits)
        ensure_budget_tables(engine)

    def _local(self, provider: str) -> threading.Lock:
        """The process's lock in front of the database's: per database on SQLite, per provider elsewhere."""
        scope = provider if self.engine.dialect.name == "postgresql" else ""
        key = (self.engine.url.render_as_string(hide_password=True), scope)
        with _local_guard:
            return _local_locks.setdefault(key, threading.Lock())

    def _lock(self, conn: sa.Connection, provider: str) -> None:
        if self.engine.dialect.name == "postgresql":
            key = int.from_bytes(
                hashlib.sha256(f"budget:{provider}".encode()).digest()[:8], "big", signed=True
            )
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        # SQLite: the engine's transactions are BEGIN IMMEDIATE (pipeline.status.schema), one writer at a time

    def attempt(
        self, provider: str, limits: ProviderLimits, waiter: str, priority: int, tokens: int
    ) -> float:
        """0 when a lease was taken under ``waiter``'s id; else how long to wait before trying again.

        A waiter that gets a wait is registered with its priority until it stops trying.
        """
        with self._local(provider), self.engine.begin() as conn:
            now = time.time()
            self._lock(conn, provider)
            conn.execute(sa.delete(leases_table).where(leases_table.c.expires < now))
            conn.execute(
                sa.delete(usage_table).where(
                    usage_table.c.provider == provider,
                    usage_table.c.at < now - limits.window_seconds - MARGIN,
                )
            )
            conn.execute(sa.delete(waiters_table).where(waiters_table.c.seen < now - WAITER_TTL))
            until = conn.execute(
                sa.select(pauses_table.c.until).where(pauses_table.c.provider == provider)
            ).scalar()
            wait = 0.0
            if until is not None and until > now:
                wait = until - now
            elif (
                self._outranked(conn, provider, waiter, priority)
                or self._in_flight(conn, provider) >= limits.concurrency
            ):
                wait = POLL
            else:
                wait = self._window_wait(conn, provider, limits, tokens, now)
            if wait > 0:
                self._wait_as(conn, provider, waiter, priority, now)
                return wait
            conn.execute(sa.delete(waiters_table).where(waiters_table.c.waiter_id == waiter))
            conn.execute(
                sa.insert(leases_table).values(
                    lease_id=waiter, provider=provider, expires=now + limits.lease_seconds
                )
            )
            conn.execute(
                sa.insert(usage_table).values(
                    usage_id=waiter, provider=provider, at=now, input_tokens=tokens, output_tokens=0
                )
            )
            return 0.0

    @staticmethod
    def _outranked(conn: sa.Connection, provider: str, waiter: str, priority: int) -> bool:
        w = waiters_table.c
        query = sa.select(sa.func.count()).where(
            w.provider == provider, w.priority > priority, w.waiter_id != waiter
        )
        return bool(conn.execute(query).scalar())

    @staticmethod
    def _in_flight(conn: sa.Connection, provider: str) -> int:
        return int(
            conn.execute(sa.select(sa.func.count()).where(leases_table.c.provider == provider)).scalar() or 0
        )

    @staticmethod
    def _window_wait(
        conn: sa.Connection, provider: str, limits: ProviderLimits, tokens: int, now: float
    ) -> float:
        u = usage_table.c
        row = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(u.input_tokens), 0),
                sa.func.coalesce(sa.func.sum(u.output_tokens), 0),
                sa.func.min(u.at),
            ).where(u.provider == provider)
        ).one()
        requests, used_in, used_out, oldest = int(row[0]), int(row[1]), int(row[2]), row[3]
        full = (
            (limits.rpm is not None and requests + 1 > limits.rpm)
            or (limits.input_tpm is not None and used_in + tokens > limits.input_tpm and requests > 0)
            or (limits.output_tpm is not None and used_out >= limits.output_tpm)
            or (limits.tpm is not None and used_in + used_out + tokens > limits.tpm and requests > 0)
        )
        if not full:
            return 0.0
        return max(
            0.05, min(1.0, (oldest or now) + limits.window_seconds + MARGIN - now)
        )  # until the oldest request leaves the window

    @staticmethod
    def _wait_as(conn: sa.Connection, provider: str, waiter: str, priority: int, now: float) -> None:
        w = waiters_table.c
        updated = conn.execute(
            sa.update(waiters_table).where(w.waiter_id == waiter).values(seen=now)
        ).rowcount
        if not updated:
            conn.execute(
                sa.insert(waiters_table).values(
                    waiter_id=waiter, provider=provider, priority=priority, seen=now
                )
            )

    def acquire(self, provider: str, *, priority: int = 0, input_tokens: int = 0) -> Lease | None:
        """Wait for room for one request of ``provider``; None when it has no limits configured."""
        limits = self.limits.get(provider)
        if limits is None:
            return None
        waiter = uuid.uuid4().hex
        start = time.monotonic()
        while True:
            wait = self.attempt(provider, limits, waiter, priority, input_tokens)
            if wait <= 0:
                return Lease(provider, waiter, time.monotonic() - start)
            time.sleep(min(wait, 1.0) * random.uniform(0.8, 1.2))  # jitter: waiters do not poll in step

    def release(
        self,
        lease: Lease,
        *,
        input_tokens: int | None = None,
        output_tokens: int = 0,
        retry_after: float | None = None,
    ) -> None:
        """The request is over: free its slot, count the tokens it used, pause the provider on a 429."""
        with self._local(lease.provider), self.engine.begin() as conn:
            now = time.time()
            self._lock(conn, lease.provider)
            conn.execute(sa.delete(leases_table).where(leases_table.c.lease_id == lease.lease_id))
            values: dict[str, int] = {"output_tokens": output_tokens}
            if input_tokens is not None:
                values["input_tokens"] = input_tokens
            conn.execute(
                sa.update(usage_table).where(usage_table.c.usage_id == lease.lease_id).values(**values)
            )
            if retry_after is not None and retry_after > 0:
                self._pause(conn, lease.provider, now + retry_after)

    def recently_healthy(self, provider: str, within: float = 600.0) -> bool:
        """Whether a run found ``provider`` answering within ``within`` s, with no failure since."""
        with self.engine.connect() as conn:
            ok_at = conn.execute(
                sa.select(health_table.c.ok_at).where(health_table.c.provider == provider)
            ).scalar()
        return ok_at is not None and ok_at > time.time() - within

    def record_health(self, provider: str, ok: bool) -> None:
        """A run's breaker found ``provider`` answering (ok) or failing: the next runs start accordingly."""
        value = time.time() if ok else 0.0
        with self._local(provider), self.engine.begin() as conn:
            updated = conn.execute(
                sa.update(health_table).where(health_table.c.provider == provider).values(ok_at=value)
            ).rowcount
            if not updated:
                conn.execute(sa.insert(health_table).values(provider=provider, ok_at=value))

    @staticmethod
    def _pause(conn: sa.Connection, provider: str, until: float) -> None:
        p = pauses_table.c
        current = conn.execute(sa.select(p.until).where(p.provider == provider)).scalar()
        if current is None:
            conn.execute(sa.insert(pauses_table).values(provider=provider, until=until))
        elif current < until:
            conn.execute(sa.update(pauses_table).where(p.provider == provider).values(until=until))
        log.warning(
            "%s answered 429: every run waits %.1f s before its next request", provider, until - time.time()
        )
