"""Conversation tokens: at least 128 random bits, stored only as hashes, and each opens one conversation."""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.cloud.dialogflow_v2.types import Intent, QueryResult, WebhookRequest, WebhookResponse

from tests.security.conftest import InProcess, in_process

FULFILLMENT_TOKEN = "tokens-test-fulfillment-token"
SESSION = "projects/livehandoff-demo/agent/sessions/page-7"
URLSAFE = re.compile(r"^[A-Za-z0-9_-]+$")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[InProcess]:
    async with in_process(
        tmp_path, dialogflow_webhook_token=FULFILLMENT_TOKEN, rate_limit_per_client=0
    ) as running:
        yield running


@pytest.fixture
async def bridge(world: InProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with world.client() as client:
        yield client


async def start(bridge: httpx.AsyncClient) -> tuple[str, str]:
    created = await bridge.post("/v1/conversations")
    assert created.status_code == 201
    return created.json()["id"], created.json()["token"]


async def handoff_by_fulfillment(bridge: httpx.AsyncClient) -> dict[str, Any]:
    """A Dialogflow turn that hands off; the answer carries a token for a page script."""
    result = QueryResult(
        query_text="a human please",
        language_code="en",
        intent=Intent(display_name="human.handoff", live_agent_handoff=True),
    )
    body = WebhookRequest.to_json(WebhookRequest(session=SESSION, query_result=result))
    answer = await bridge.post(
        "/webhooks/dialogflow", content=body, headers={"x-livehandoff-token": FULFILLMENT_TOKEN}
    )
    assert answer.status_code == 200, answer.text
    response = WebhookResponse.from_json(answer.text)
    stream: dict[str, Any] = next(
        dict(m.payload["livehandoff"])
        for m in response.fulfillment_messages
        if m.payload and "livehandoff" in m.payload
    )
    return stream


def bits(token: str) -> int:
    assert URLSAFE.match(token), token
    return len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8


async def test_tokens_carry_at_least_128_random_bits(bridge: httpx.AsyncClient) -> None:
    tokens = [(await start(bridge))[1] for _ in range(40)]
    tokens.append(str((await handoff_by_fulfillment(bridge))["token"]))
    assert all(bits(token) >= 128 for token in tokens)
    assert len(set(tokens)) == len(tokens)
    # No position is fixed: every character position takes several values over 41 tokens.
    assert all(len({token[i] for token in tokens}) > 8 for i in range(min(map(len, tokens))))


def stored_text(world: InProcess) -> str:
    """Every file SQLite keeps (database, write-ahead log, shared memory), as text."""
    path = Path(world.settings.database_url.removeprefix("sqlite+aiosqlite:///"))
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return "".join(file.read_bytes().decode("latin-1") for file in files if file.exists())


def stored_cells(world: InProcess) -> list[str]:
    """Every value of every table, read through SQLite."""
    path = world.settings.database_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("select name from sqlite_master where type = 'table'")]
        cells: list[str] = []
        for table in tables:
            query = f'select * from "{table}"'  # noqa: S608 (a name from sqlite_master)
            cells += [str(cell) for row in db.execute(query) for cell in row]
        return cells


async def test_tokens_are_stored_only_as_hashes(world: InProcess, bridge: httpx.AsyncClient) -> None:
    conversation_id, token = await start(bridge)
    auth = {"authorization": f"Bearer {token}"}
    url = f"/v1/conversations/{conversation_id}/messages"
    assert (await bridge.post(url, json={"text": "hello"}, headers=auth)).status_code == 202
    stream_token = str((await handoff_by_fulfillment(bridge))["token"])
    await world.app.state.services.bridge.drain()

    text, cells = stored_text(world), stored_cells(world)
    for secret in (token, stream_token):
        digest = hashlib.sha256(secret.encode()).hexdigest()
        assert digest in cells, "the hash is what is stored"
        assert secret not in text
        assert not [cell for cell in cells if secret in cell]


async def test_a_token_opens_its_own_conversation_only(world: InProcess, bridge: httpx.AsyncClient) -> None:
    mine, my_token = await start(bridge)
    theirs, their_token = await start(bridge)
    stream = await handoff_by_fulfillment(bridge)
    mine_url, theirs_url = f"/v1/conversations/{mine}", f"/v1/conversations/{theirs}"

    def bearer(token: str) -> dict[str, str]:
        return {"authorization": f"Bearer {token}"}

    assert (await bridge.get(mine_url, headers=bearer(my_token))).status_code == 200
    assert (
        await bridge.get(f"/v1/conversations/{stream['conversation_id']}", headers=bearer(stream["token"]))
    ).status_code == 200
    for token in (my_token, str(stream["token"]), my_token[:-1], my_token + "A", my_token.upper()):
        if token == their_token:
            continue
        refused = [
            await bridge.get(theirs_url, headers=bearer(token)),
            await bridge.post(f"{theirs_url}/messages", json={"text": "hi"}, headers=bearer(token)),
            await bridge.post(f"{theirs_url}/delivered", json={"seq": 1}, headers=bearer(token)),
            await bridge.get(f"{theirs_url}/events", headers=bearer(token)),
            await bridge.get(f"{theirs_url}/events", params={"token": token}),
        ]
        assert [r.status_code for r in refused] == [401] * 5
        assert all(r.json()["error"]["type"] == "unauthorized" for r in refused)

    query_only = await bridge.get(mine_url, params={"token": my_token})
    assert query_only.status_code == 401, "only the event stream takes the token in the query"
    assert (await bridge.get(theirs_url, headers=bearer(their_token))).json()["last_seq"] == 0
