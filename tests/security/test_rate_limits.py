"""Rate limits: per client address on the customer API and per conversation for messages, with 429,
``Retry-After`` in whole seconds and nothing changed. The limiter's clock is injected: no test sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from livehandoff.devstack import Stack, run_stack
from livehandoff.web.ratelimit import InMemoryRateLimiter
from tests.scenarios.conftest import Customer
from tests.security.conftest import InProcess, in_process

SHOP = "https://shop.example"


class FakeClock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def assert_rate_limited(response: httpx.Response, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == str(retry_after)
    error = response.json()["error"]
    assert error["type"] == "rate_limited"
    assert error["retry_after"] == retry_after
    assert error["message"]


# --- the token bucket ----------------------------------------------------------------------------------


async def test_a_bucket_allows_a_burst_then_the_steady_rate(clock: FakeClock) -> None:
    limiter = InMemoryRateLimiter(clock=clock)
    assert [await limiter.acquire("k", 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await limiter.acquire("k", 3) == pytest.approx(20.0)
    clock.advance(19.5)
    assert await limiter.acquire("k", 3) == pytest.approx(0.5), "a refused request takes nothing"
    clock.advance(0.5)
    assert await limiter.acquire("k", 3) == 0.0
    assert await limiter.acquire("other", 3) == 0.0, "keys have their own buckets"


async def test_waiting_as_long_as_told_is_always_enough(clock: FakeClock) -> None:
    limiter = InMemoryRateLimiter(clock=clock)
    for _ in range(200):
        wait = await limiter.acquire("k", 7)
        if wait > 0:
            clock.advance(wait)
            assert await limiter.acquire("k", 7) == 0.0


async def test_zero_means_no_limit(clock: FakeClock) -> None:
    limiter = InMemoryRateLimiter(clock=clock)
    assert all([await limiter.acquire("k", 0) == 0.0 for _ in range(1000)])
    assert len(limiter) == 0


async def test_refilled_buckets_are_forgotten_and_the_number_of_keys_is_bounded(clock: FakeClock) -> None:
    limiter = InMemoryRateLimiter(clock=clock, max_keys=50)
    for n in range(200):
        await limiter.acquire(f"client:{n}", 60)
    assert len(limiter) == 50
    clock.advance(1.0)
    await limiter.acquire("late", 60)
    assert len(limiter) == 1, "a bucket that refilled is the same as none"


# --- per client address ----------------------------------------------------------------------------


@pytest.fixture
async def limited(tmp_path: Path, clock: FakeClock) -> AsyncIterator[InProcess]:
    async with in_process(
        tmp_path,
        rate_limiter=InMemoryRateLimiter(clock=clock),
        rate_limit_per_client=3,
        rate_limit_per_conversation=0,
        allowed_origins=(SHOP,),
        dialogflow_webhook_token="df-token",
    ) as running:
        yield running


async def test_a_client_over_its_budget_gets_429_until_it_refills(
    limited: InProcess, clock: FakeClock
) -> None:
    async with limited.client("198.51.100.1") as first, limited.client("198.51.100.2") as second:
        created = [await first.post("/v1/conversations") for _ in range(3)]
        assert [r.status_code for r in created] == [201, 201, 201]
        refused = await first.post("/v1/conversations", headers={"origin": SHOP})
        assert_rate_limited(refused, 20)
        assert refused.headers["access-control-allow-origin"] == SHOP, "a page can read the 429"

        assert (await second.post("/v1/conversations")).status_code == 201, "another address is not affected"
        clock.advance(19.0)
        assert_rate_limited(await first.get("/v1/conversations/x"), 1)
        clock.advance(1.0)
        assert (await first.post("/v1/conversations")).status_code == 201


async def test_a_refused_request_changes_nothing(limited: InProcess) -> None:
    async with limited.client() as client:
        created = (await client.post("/v1/conversations")).json()
        auth = {"authorization": f"Bearer {created['token']}"}
        url = f"/v1/conversations/{created['id']}"
        assert (await client.get(url, headers=auth)).json()["last_seq"] == 0
        assert (await client.get(url, headers=auth)).status_code == 200
        assert_rate_limited(await client.post(f"{url}/messages", json={"text": "hi"}, headers=auth), 20)
    async with limited.client("192.0.2.99") as other:
        assert (await other.get(url, headers=auth)).json()["last_seq"] == 0


async def test_webhooks_and_operations_are_not_limited_by_address(limited: InProcess) -> None:
    async with limited.client() as client:
        for _ in range(10):
            livechat = await client.post("/webhooks/livechat", json={"secret_key": "wrong"})
            assert livechat.status_code == 401
            fulfillment = await client.post("/webhooks/dialogflow", json={})
            assert fulfillment.status_code == 401
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/openapi.json")).status_code == 200


# --- per conversation ----------------------------------------------------------------------------------


@pytest.fixture
async def chatty(tmp_path: Path, clock: FakeClock) -> AsyncIterator[InProcess]:
    async with in_process(
        tmp_path,
        rate_limiter=InMemoryRateLimiter(clock=clock),
        rate_limit_per_client=1000,
        rate_limit_per_conversation=2,
    ) as running:
        yield running


async def test_messages_into_one_conversation_are_limited(chatty: InProcess, clock: FakeClock) -> None:
    async with chatty.client() as client:
        one, two = [(await client.post("/v1/conversations")).json() for _ in range(2)]
        url = f"/v1/conversations/{one['id']}"
        auth = {"authorization": f"Bearer {one['token']}"}
        strangers = {"authorization": f"Bearer {two['token']}"}
        for _ in range(5):
            stranger = await client.post(f"{url}/messages", json={"text": "spam"}, headers=strangers)
            assert stranger.status_code == 401, "without the token nobody can use up the budget"
        for _ in range(5):
            invalid = await client.post(f"{url}/messages", json={"text": " "}, headers=auth)
            assert invalid.status_code == 422, "refused bodies take nothing"

        for text in ("first", "second"):
            assert (
                await client.post(f"{url}/messages", json={"text": text}, headers=auth)
            ).status_code == 202
        refused = await client.post(f"{url}/messages", json={"text": "third"}, headers=auth)
        assert_rate_limited(refused, 30)
        await chatty.app.state.services.bridge.drain()
        transcript = (await client.get(url, headers=auth)).json()["transcript"]
        assert [e["text"] for e in transcript if e["author"] == "customer"] == ["first", "second"]

        other = f"/v1/conversations/{two['id']}/messages"
        assert (await client.post(other, json={"text": "hi"}, headers=strangers)).status_code == 202
        clock.advance(30.0)
        assert (await client.post(f"{url}/messages", json={"text": "third"}, headers=auth)).status_code == 202


# --- the event stream counts once --------------------------------------------------------------------


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'bridge.sqlite3'}"
    async with run_stack(database_url=database_url, rate_limit_per_client=4) as running:
        yield running


async def test_an_open_event_stream_counts_once_and_keeps_flowing(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        customer = Customer(http, stack.bridge_url)
        try:
            await customer.start()  # two requests: create, and the stream
            await customer.say("hello")
            await customer.say("what are your opening hours?")
            refused = await http.get(f"{customer.base}/v1/conversations/{customer.id}", headers=customer.auth)
            assert_rate_limited(refused, 15)
            await customer.wait_for(
                lambda e: e["type"] == "message" and e["author"] == "bot" and e["seq"] >= 4, "both answers"
            )
        finally:
            await customer.stop()
