"""Rate limits shared by several instances through Redis, and what happens when Redis is down.

The tests against a real Redis run when ``LIVEHANDOFF_TEST_REDIS_URL`` is set (``.ci/run`` sets it);
without it they are skipped with a message naming the variable. The outage tests need no Redis.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import structlog
from structlog.testing import capture_logs

from livehandoff.web.ratelimit import RedisRateLimiter
from tests.security.conftest import in_process

REDIS_URL_VARIABLE = "LIVEHANDOFF_TEST_REDIS_URL"


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_URL_VARIABLE)
    if not url:
        pytest.skip(f"set {REDIS_URL_VARIABLE} (e.g. redis://127.0.0.1:6379/0) to run the tests on Redis")
    return url


@pytest.fixture
async def instances(redis_url: str) -> AsyncIterator[tuple[RedisRateLimiter, RedisRateLimiter]]:
    """Two instances' limiters on one Redis, with keys of their own for this test."""
    prefix = f"livehandoff:test:{uuid.uuid4().hex}:"
    first = RedisRateLimiter(aioredis.Redis.from_url(redis_url), prefix=prefix)
    second = RedisRateLimiter(aioredis.Redis.from_url(redis_url), prefix=prefix)
    yield first, second
    cleaner = aioredis.Redis.from_url(redis_url)
    keys = [key async for key in cleaner.scan_iter(match=prefix + "*")]
    if keys:
        await cleaner.delete(*keys)
    await cleaner.aclose()
    await first.aclose()
    await second.aclose()


async def test_instances_share_one_budget(instances: tuple[RedisRateLimiter, RedisRateLimiter]) -> None:
    first, second = instances
    granted = [await (first if n % 2 else second).acquire("client:203.0.113.7", 6) for n in range(6)]
    assert granted == [0.0] * 6

    wait = await first.acquire("client:203.0.113.7", 6)

    assert 9.0 < wait <= 10.0  # six a minute: the next token in ten seconds
    assert await second.acquire("client:203.0.113.7", 6) > 0, "the other instance sees the same bucket"
    assert await second.acquire("client:198.51.100.1", 6) == 0.0, "another client has its own budget"


async def test_zero_means_no_limit_and_touches_nothing(
    instances: tuple[RedisRateLimiter, RedisRateLimiter],
) -> None:
    first, _ = instances
    assert [await first.acquire("conversation:c1", 0) for _ in range(100)] == [0.0] * 100


async def test_a_refused_request_takes_nothing(instances: tuple[RedisRateLimiter, RedisRateLimiter]) -> None:
    first, _ = instances
    for _ in range(2):
        await first.acquire("conversation:c1", 2)
    waits = [await first.acquire("conversation:c1", 2) for _ in range(5)]
    assert all(25.0 < wait <= 30.0 for wait in waits), waits


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_with_redis_down_requests_go_ahead_and_the_log_says_limits_are_off() -> None:
    limiter = RedisRateLimiter.from_url(f"redis://127.0.0.1:{closed_port()}/0")
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        waits = [await limiter.acquire("client:203.0.113.7", 1) for _ in range(5)]
    await limiter.aclose()

    assert waits == [0.0] * 5
    warnings = [line for line in logs if line["event"] == "rate_limit.redis_unavailable"]
    assert len(warnings) == 1, "said once, not for every request"
    assert warnings[0]["limits"] == "not applied"


async def test_the_app_counts_in_redis_when_redis_url_is_set(tmp_path: Path, redis_url: str) -> None:
    """Two apps (two instances) with one Redis give one client one budget between them."""
    settings = {"redis_url": redis_url, "rate_limit_per_client": 3}
    async with (
        in_process(tmp_path / "a", **settings) as first,
        in_process(tmp_path / "b", **settings) as second,
    ):
        address = f"203.0.113.{uuid.uuid4().int % 200 + 1}"
        statuses = []
        for n in range(5):
            world = first if n % 2 else second
            async with world.client(address) as http:
                statuses.append((await http.post("/v1/conversations", json={})).status_code)
        for world in (first, second):  # the app's lifespan would close it; these apps run without one
            limiter = world.app.state.rate_limiter
            assert isinstance(limiter, RedisRateLimiter)
            await limiter.aclose()
    assert statuses == [201, 201, 201, 429, 429]
