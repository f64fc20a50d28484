"""Rate limits: token buckets per client address and per conversation, behind a small port.

Each key has a bucket holding up to ``per_minute`` tokens, refilled at ``per_minute`` a minute; a
request takes one token or is refused with the time until the next one. So a client may burst up to the
limit, then continues at the limit's pace.

:class:`InMemoryRateLimiter` keeps its buckets in this process: right for one instance. With several
instances behind a load balancer, :class:`RedisRateLimiter` keeps them in Redis (``LIVEHANDOFF_REDIS_URL``),
so a client gets the same budget whichever instances serve it. When Redis cannot be reached the limits
are not applied (the request goes ahead, and a warning is logged): limits protect the bridge, and losing
them for a while is better than refusing every customer while Redis is down.

Webhooks from LiveChat and Dialogflow are not limited by client address: each platform sends from a few
shared addresses, so a per-address budget would throttle every conversation at once. They are
authenticated instead (webhook secret, fulfillment credentials).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from livehandoff.web.errors import rate_limited_response

log = structlog.get_logger("livehandoff.ratelimit")

CUSTOMER_API_PREFIX = "/v1/"
_ROUNDING = 1e-9
"""A client that waited exactly as long as it was told is let in, whatever floating point made of the wait."""


class RateLimiter(Protocol):
    """Decides whether one more request under ``key`` fits its budget."""

    async def acquire(self, key: str, per_minute: int) -> float:
        """Take one request from ``key``'s budget of ``per_minute`` requests a minute.

        Returns 0.0 when the request may go ahead (``per_minute`` 0 means no limit), otherwise the
        seconds until it would; a refused request takes nothing.
        """
        ...


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    capacity: int

    def full_at(self) -> float:
        """When the bucket is full again; from then on it is the same as no bucket at all."""
        return self.updated + (self.capacity - self.tokens) * 60.0 / self.capacity


class InMemoryRateLimiter:
    """Token buckets in this process's memory; ``clock`` is monotonic seconds (injectable for tests)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    async def acquire(self, key: str, per_minute: int) -> float:
        if per_minute <= 0:
            return 0.0
        now = self._clock()
        bucket = self._buckets.pop(key, None)  # re-inserted below: dict order is least recently used first
        if bucket is None or bucket.capacity != per_minute:
            bucket = _Bucket(tokens=float(per_minute), updated=now, capacity=per_minute)
        per_second = per_minute / 60.0
        bucket.tokens = min(float(per_minute), bucket.tokens + (now - bucket.updated) * per_second)
        bucket.updated = now
        wait = 0.0
        if bucket.tokens >= 1.0 - _ROUNDING:
            bucket.tokens = max(bucket.tokens - 1.0, 0.0)
        else:
            wait = (1.0 - bucket.tokens) / per_second
        self._buckets[key] = bucket
        self._forget_idle(now)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)

    def _forget_idle(self, now: float) -> None:
        """Drop buckets that have refilled (they hold no information), and the oldest past ``max_keys``."""
        while self._buckets:
            key, oldest = next(iter(self._buckets.items()))
            if oldest.full_at() > now and len(self._buckets) <= self._max_keys:
                return
            del self._buckets[key]


_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local capacity = tonumber(ARGV[1])
local per_second = capacity / 60
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(bucket[1]) or capacity
local updated = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - updated) * per_second)
local wait = 0
if tokens >= 1 - tonumber(ARGV[2]) then
  tokens = math.max(tokens - 1, 0)
else
  wait = (1 - tokens) / per_second
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) * 60000 / capacity) + 1000)
return tostring(wait)
"""
"""One token bucket step, atomic in Redis, on Redis's clock (so instances' clocks need not agree). A bucket
expires once it would be full again: an absent bucket is a full one. Floats travel as strings: Redis
turns a Lua number into an integer."""


class RedisRateLimiter:
    """Token buckets in Redis, shared by every instance; the same buckets as :class:`InMemoryRateLimiter`."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "livehandoff:rate:") -> None:
        self._client = client
        self._prefix = prefix
        self._take = client.register_script(_TAKE)
        self._warned_at = float("-inf")

    @classmethod
    def from_url(cls, url: str) -> RedisRateLimiter:
        """A limiter on the Redis at ``url``; a slow Redis costs a request at most half a second."""
        return cls(aioredis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5))

    async def acquire(self, key: str, per_minute: int) -> float:
        if per_minute <= 0:
            return 0.0
        try:
            wait = await self._take(keys=[self._prefix + key], args=[per_minute, _ROUNDING])
        except (RedisError, OSError) as exc:
            self._warn(exc)
            return 0.0
        return float(wait)

    def _warn(self, exc: Exception) -> None:
        """Say that limits are off, at most every ten seconds: an outage would otherwise flood the log."""
        now = time.monotonic()
        if now - self._warned_at >= 10.0:
            self._warned_at = now
            log.warning("rate_limit.redis_unavailable", error=type(exc).__name__, limits="not applied")

    async def aclose(self) -> None:
        await self._client.aclose()


class ClientRateLimit:
    """Limits customer API requests per client address; an event stream counts once, however long it lasts.

    The address is the connection's peer as the server reports it. Behind a reverse proxy, name the proxy in
    ``LIVEHANDOFF_TRUSTED_PROXIES`` so the server takes the address from its ``X-Forwarded-For``, or every
    customer shares the proxy's budget.
    """

    def __init__(
        self, app: ASGIApp, *, limiter: RateLimiter, per_minute: int, prefix: str = CUSTOMER_API_PREFIX
    ) -> None:
        self._app = app
        self._limiter = limiter
        self._per_minute = per_minute
        self._prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self._prefix):
            client = scope.get("client")
            address = client[0] if client else "unknown"
            wait = await self._limiter.acquire(f"client:{address}", self._per_minute)
            if wait > 0:
                await rate_limited_response(wait)(scope, receive, send)
                return
        await self._app(scope, receive, send)


async def conversation_budget(limiter: RateLimiter, conversation_id: str, per_minute: int) -> float:
    """One customer message into ``conversation_id``; seconds to wait, 0.0 when it may go ahead."""
    return await limiter.acquire(f"conversation:{conversation_id}", per_minute)
