"""Rate limits: token buckets per client address and per conversation, behind a small port.

Each key has a bucket holding up to ``per_minute`` tokens, refilled at ``per_minute`` a minute; a
request takes one token or is refused with the time until the next one. So a client may burst up to the
limit, then continues at the limit's pace.

:class:`InMemoryRateLimiter` keeps its buckets in this process: with several instances behind a load
balancer each instance has its own buckets, and a client spread over N instances gets up to N times the
limit, until a shared implementation of :class:`RateLimiter` (Redis) exists.

Webhooks from LiveChat and Dialogflow are not limited by client address: each platform sends from a few
shared addresses, so a per-address budget would throttle every conversation at once. They are
authenticated instead (webhook secret, fulfillment credentials).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from livehandoff.web.errors import rate_limited_response

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


class ClientRateLimit:
    """Limits customer API requests per client address; an event stream counts once, however long it lasts.

    The address is the connection's peer as the server reports it. Behind a reverse proxy, let the
    server take it from ``X-Forwarded-For`` for the proxy's address only (uvicorn's
    ``--forwarded-allow-ips``), or every customer shares the proxy's budget.
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
