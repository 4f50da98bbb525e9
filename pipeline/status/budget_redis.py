"""The instance's provider budget in Redis (``PROVIDER_BUDGET=redis``), for deployments that have one.

The same budget as ``pipeline.status.budget`` (leases for requests in flight that expire after a
crash, a rolling window of requests and tokens, a ``429``'s ``retry-after`` pausing every run,
higher-priority waiters first), each decision one Lua script, so atomic across every process and
host; the clock is the Redis server's (``TIME``), so hosts with skewed clocks still agree. A
provider's keys share one hash tag (``{anthropic}``), so the scripts also run on Redis Cluster. The
``redis`` package is the optional extra ``redis``, imported when the budget is built.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Mapping
from typing import Any

from pipeline.config.limits import ProviderLimits
from pipeline.status.budget import MARGIN, POLL, WAITER_TTL, Lease

log = logging.getLogger(__name__)
PREFIX = "speaking:budget"
_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n"
_KEYS = ("leases", "usage", "tokens", "seen", "priority", "pause")

# KEYS: leases (lease -> expires), usage (request -> at), tokens (request -> "in out"), seen (waiter ->
# last poll), priority (waiter -> priority), pause. ARGV: waiter, priority, tokens, concurrency, rpm,
# input_tpm, output_tpm, tpm (0: no limit), lease_seconds, window_seconds, margin, waiter_ttl, poll.
_ATTEMPT = (
    _NOW
    + """
local waiter, priority, tokens = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local concurrency, rpm, in_tpm, out_tpm, tpm = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]),
  tonumber(ARGV[7]), tonumber(ARGV[8])
local lease_s, window, margin, ttl, poll = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]),
  tonumber(ARGV[12]), tonumber(ARGV[13])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - window - margin))) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. (now - ttl))) do
  redis.call('ZREM', KEYS[4], id)
  redis.call('ZREM', KEYS[5], id)
end
local wait = 0
local paused = tonumber(redis.call('GET', KEYS[6]) or '0')
if paused > now then
  wait = paused - now
else
  local above = redis.call('ZRANGEBYSCORE', KEYS[5], '(' .. priority, '+inf', 'LIMIT', 0, 2)
  local outranked = #above > 1 or (#above == 1 and above[1] ~= waiter)
  if outranked or redis.call('ZCARD', KEYS[1]) >= concurrency then
    wait = poll
  else
    local requests = redis.call('ZCARD', KEYS[2])
    local used_in, used_out = 0, 0
    if in_tpm > 0 or out_tpm > 0 or tpm > 0 then
      for _, v in ipairs(redis.call('HVALS', KEYS[3])) do
        local i, o = string.match(v, '(%d+) (%d+)')
        used_in, used_out = used_in + tonumber(i), used_out + tonumber(o)
      end
    end
    local full = (rpm > 0 and requests + 1 > rpm)
      or (in_tpm > 0 and used_in + tokens > in_tpm and requests > 0)
      or (out_tpm > 0 and used_out >= out_tpm)
      or (tpm > 0 and used_in + used_out + tokens > tpm and requests > 0)
    if full then
      local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2]
      wait = math.max(0.05, math.min(1.0, tonumber(oldest or now) + window + margin - now))
    end
  end
end
if wait > 0 then
  redis.call('ZADD', KEYS[4], now, waiter)
  redis.call('ZADD', KEYS[5], priority, waiter)
  return tostring(wait)
end
redis.call('ZREM', KEYS[4], waiter)
redis.call('ZREM', KEYS[5], waiter)
redis.call('ZADD', KEYS[1], now + lease_s, waiter)
redis.call('ZADD', KEYS[2], now, waiter)
redis.call('HSET', KEYS[3], waiter, tokens .. ' 0')
return '0'
"""
)

# KEYS as above. ARGV: lease, input tokens ('' keeps the estimate), output tokens, retry_after ('' none).
_RELEASE = (
    _NOW
    + """
redis.call('ZREM', KEYS[1], ARGV[1])
local old = redis.call('HGET', KEYS[3], ARGV[1])
if old then
  local i = ARGV[2]
  if i == '' then i = string.match(old, '(%d+) ') end
  redis.call('HSET', KEYS[3], ARGV[1], i .. ' ' .. ARGV[3])
end
if ARGV[4] ~= '' then
  local untl = now + tonumber(ARGV[4])
  if untl > tonumber(redis.call('GET', KEYS[6]) or '0') then redis.call('SET', KEYS[6], tostring(untl)) end
end
return 1
"""
)


def _limit(value: int | None) -> int:
    return 0 if value is None else int(value)


class RedisProviderBudget:
    """The instance's budget for each provider in ``limits``, in the Redis at ``url``."""

    def __init__(self, url: str, limits: Mapping[str, ProviderLimits], prefix: str = PREFIX) -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url, socket_timeout=10, health_check_interval=30)
        self.limits = dict(limits)
        self.prefix = prefix
        self._attempt = self.client.register_script(_ATTEMPT)
        self._release = self.client.register_script(_RELEASE)

    def _keys(self, provider: str) -> list[str]:
        return [f"{self.prefix}:{{{provider}}}:{name}" for name in _KEYS]

    def attempt(
        self, provider: str, limits: ProviderLimits, waiter: str, priority: int, tokens: int
    ) -> float:
        """0 when a lease was taken under ``waiter``'s id; else how long to wait before trying again."""
        args: list[str | int | float] = [
            waiter, priority, max(0, int(tokens)), limits.concurrency, _limit(limits.rpm),
            _limit(limits.input_tpm), _limit(limits.output_tpm), _limit(limits.tpm), limits.lease_seconds,
            limits.window_seconds, MARGIN, WAITER_TTL, POLL,
        ]  # fmt: skip
        return float(self._attempt(keys=self._keys(provider), args=args))

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
        pause = retry_after if retry_after is not None and retry_after > 0 else None
        args: list[str | int | float] = [
            lease.lease_id,
            "" if input_tokens is None else max(0, int(input_tokens)),
            max(0, int(output_tokens)),
            "" if pause is None else pause,
        ]
        self._release(keys=self._keys(lease.provider), args=args)
        if pause is not None:
            log.warning(
                "%s answered 429: every run waits %.1f s before its next request", lease.provider, pause
            )

    def _health_key(self, provider: str) -> str:
        return f"{self.prefix}:{{{provider}}}:health"

    def recently_healthy(self, provider: str, within: float = 600.0) -> bool:
        """Whether a run found ``provider`` answering within ``within`` s, with no failure since."""
        ok_at = self.client.get(self._health_key(provider))
        seconds, micros = self.client.time()
        return ok_at is not None and float(ok_at) > seconds + micros / 1e6 - within

    def record_health(self, provider: str, ok: bool) -> None:
        """A run's breaker found ``provider`` answering (ok) or failing: the next runs start accordingly."""
        seconds, micros = self.client.time()
        self.client.set(self._health_key(provider), seconds + micros / 1e6 if ok else 0.0)
