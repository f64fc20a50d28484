"""Two bridge instances on one PostgreSQL database: what one applies, a stream on the other hears at once;
and a stream whose wake-up connection drops catches up."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from livehandoff.devstack import Stack, bind, serve
from livehandoff.feed.postgres import PostgresFeed, asyncpg_dsn
from livehandoff.web.app import create_app
from tests.contract.conftest import POSTGRES_SKIP_REASON, POSTGRES_URL_VARIABLE
from tests.scenarios.conftest import Agent, Customer


@pytest.fixture
async def second(stack: Stack) -> AsyncIterator[str]:
    """Another instance of the bridge: same settings and database, its own process state and port."""
    sock = bind("127.0.0.1", 0)
    async with serve(create_app(stack.settings), sock) as url:
        yield url


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_stream_on_one_instance_hears_a_webhook_applied_by_another(
    http: httpx.AsyncClient, stack: Stack, second: str, agent: Agent
) -> None:
    reader = Customer(http, second)  # the customer's stream is on the second instance ...
    await reader.start()
    writer = Customer(http, stack.bridge_url)  # ... their posts and LiveChat's webhooks reach the first
    writer.id, writer.token = reader.id, reader.token
    try:
        await writer.say("I want to talk to an agent")
        await reader.wait_for(lambda e: e["type"] == "agent_joined", "an agent joined")
        chat_id = (await agent.chats())[0]["id"]

        said_at = time.monotonic()
        await agent.say(chat_id, "Hi, Anna here")
        await reader.wait_for(lambda e: e.get("text") == "Hi, Anna here", "the agent's reply")
        heard_after = time.monotonic() - said_at
    finally:
        await reader.stop()

    # Without a wake-up across instances the reply would wait for the stream's 15 s keep-alive read.
    assert heard_after < 5.0, heard_after
    assert reader.event_ids == list(range(1, len(reader.event_ids) + 1)), "nothing missed or repeated"


@pytest.fixture
def postgres_server() -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(POSTGRES_SKIP_REASON)
    return url


async def test_a_feed_whose_listening_connection_drops_wakes_its_readers_when_it_is_back(
    postgres_server: str,
) -> None:
    channel = f"livehandoff_test_{uuid.uuid4().hex}"
    listening, sending = (
        PostgresFeed(postgres_server, channel=channel),
        PostgresFeed(postgres_server, channel=channel),
    )
    await listening.start()
    await sending.start()
    admin = await asyncpg.connect(asyncpg_dsn(postgres_server))
    try:
        async with listening.subscribe("c1") as subscription:
            await sending.publish("c1", 1)
            assert await subscription.wait(5.0), "woken from the other instance"

            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1",
                f'LISTEN "{channel}"',
            )
            assert killed >= 1
            assert await subscription.wait(10.0), "woken once listening again, to read what it missed"

            await asyncio.sleep(0.1)
            await sending.publish("c1", 2)
            assert await subscription.wait(5.0), "hears the other instance again"
    finally:
        await admin.close()
        await listening.aclose()
        await sending.aclose()
