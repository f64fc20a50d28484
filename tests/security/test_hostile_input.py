"""LiveChat webhooks from someone else: costly bodies without the secret, and the secret with another
organization's id."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from livehandoff.devstack import bind
from tests.security.conftest import InProcess, in_process

WEBHOOK_SECRET = "hostile-test-webhook-secret"
DEEP = b"[" * 100_000 + b"]" * 100_000
"""Nested deeper than Python's JSON parser can go: it raises RecursionError."""


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[InProcess]:
    async with in_process(tmp_path, livechat_webhook_secret=WEBHOOK_SECRET) as running:
        yield running


def assert_error(response: httpx.Response, status: int, error_type: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == error_type, response.text
    message: str = error["message"]
    return message


def envelope(world: InProcess, action: str, payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "webhook_id": "w-hostile",
        "secret_key": WEBHOOK_SECRET,
        "action": action,
        "organization_id": world.settings.livechat_organization_id,
        "payload": payload,
        "additional_data": {},
        **changes,
    }


# --- nesting -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        b'{"payload": ' + DEEP + b"}",
        b'{"secret_key": "wrong", "payload": ' + DEEP + b"}",
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ],
    ids=["deep array", "deep payload", "deep payload, wrong secret", "deep objects"],
)
async def test_deep_nesting_without_the_secret_is_refused_unparsed(world: InProcess, body: bytes) -> None:
    async with world.client() as bridge:
        response = await bridge.post("/webhooks/livechat", content=body)
    assert_error(response, 401, "unauthorized")


async def test_deep_nesting_with_the_secret_is_a_bad_request(world: InProcess) -> None:
    body = b'{"secret_key": "' + WEBHOOK_SECRET.encode() + b'", "payload": ' + DEEP + b"}"
    async with world.client() as bridge:
        response = await bridge.post("/webhooks/livechat", content=body)
    assert assert_error(response, 400, "bad_request") == "webhook body is nested too deeply"


# --- the organization ----------------------------------------------------------------------------


async def talking_to_an_agent(world: InProcess, bridge: httpx.AsyncClient) -> tuple[str, dict[str, str], str]:
    """A conversation whose customer an agent is chatting with: its URL, auth header and LiveChat chat id."""
    created = (await bridge.post("/v1/conversations")).json()
    url, auth = f"/v1/conversations/{created['id']}", {"authorization": f"Bearer {created['token']}"}
    await bridge.post(f"{url}/messages", json={"text": "I want to talk to an agent"}, headers=auth)
    async with asyncio.timeout(10):
        while True:
            if (await bridge.get(url, headers=auth)).json()["state"] == "agent":
                break
            await asyncio.sleep(0.02)
    agent = (world.emulator.credentials.agent_account_id, world.emulator.credentials.agent_pat)
    async with world.livechat() as livechat:
        listed = (await livechat.post("/v3.6/agent/action/list_chats", json={}, auth=agent)).json()
    return url, auth, listed["chats_summary"][0]["id"]


async def test_a_webhook_of_another_organization_is_refused_and_changes_nothing(world: InProcess) -> None:
    async with world.client() as bridge:
        url, auth, chat_id = await talking_to_an_agent(world, bridge)
        ended = {"chat_id": chat_id, "thread_id": "T", "user_id": world.emulator.credentials.agent_account_id}

        foreign = envelope(world, "chat_deactivated", ended, organization_id="another-organization")
        refused = await bridge.post("/webhooks/livechat", json=foreign)
        message = assert_error(refused, 403, "forbidden")
        assert message == "this webhook is for another LiveChat organization"
        assert (await bridge.get(url, headers=auth)).json()["state"] == "agent"

        ours = await bridge.post("/webhooks/livechat", json=envelope(world, "chat_deactivated", ended))
        assert ours.json() == {"status": "processed"}
        assert (await bridge.get(url, headers=auth)).json()["state"] != "agent"


async def test_without_a_configured_organization_any_is_accepted(tmp_path: Path) -> None:
    async with (
        in_process(tmp_path, livechat_webhook_secret=WEBHOOK_SECRET, livechat_organization_id="") as world,
        world.client() as bridge,
    ):
        payload = {"chat_id": "UNKNOWN001", "thread_id": "T", "user_id": "anna@example.com"}
        body = envelope(world, "chat_deactivated", payload, organization_id="any-organization")
        response = await bridge.post("/webhooks/livechat", json=body)
    assert response.status_code == 200, response.text


# --- the cost of refusing ------------------------------------------------------------------------

PARALLEL_WEBHOOKS = 60
STALL_LIMIT_SECONDS = 2.0
"""Parsed, these bodies cost the server over 40 ms of its event loop each, and /healthz waited 5-25 s;
refused unparsed, the wait is the transport's: 0.1-0.5 s on a busy two-core machine."""


def costly_body() -> bytes:
    """1 MB of JSON that is slow to parse: a third of a million empty arrays, and no secret."""
    body = b'{"action": "incoming_event", "payload": {"a": [' + b",".join([b"[]"] * 349_000) + b"]}}"
    assert len(body) <= 1048576
    return body


@asynccontextmanager
async def demo_process(tmp_path: Path) -> AsyncIterator[str]:
    """``livehandoff demo`` in a process of its own, so that the client's work does not slow the server."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "livehandoff", "demo", "--json", "--port", str(port)),
        *("--database-url", f"sqlite+aiosqlite:///{tmp_path}/demo.db"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        info = json.loads(await asyncio.wait_for(process.stdout.readline(), timeout=60))
        yield str(info["bridge_url"])
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), timeout=30)


async def test_unauthenticated_webhooks_do_not_stall_the_server(tmp_path: Path) -> None:
    body = costly_body()
    waits: list[float] = []
    async with (
        demo_process(tmp_path) as bridge,
        httpx.AsyncClient(base_url=bridge, timeout=60, limits=httpx.Limits(max_connections=100)) as http,
        httpx.AsyncClient(base_url=bridge, timeout=60) as probe,
    ):
        await probe.get("/healthz")

        async def probe_health(done: asyncio.Event) -> None:
            while not done.is_set():
                started = time.perf_counter()
                assert (await probe.get("/healthz")).status_code == 200
                waits.append(time.perf_counter() - started)
                await asyncio.sleep(0.005)

        done = asyncio.Event()
        prober = asyncio.create_task(probe_health(done))
        answers = await asyncio.gather(
            *(http.post("/webhooks/livechat", content=body) for _ in range(PARALLEL_WEBHOOKS))
        )
        done.set()
        await prober

    assert {answer.status_code for answer in answers} == {401}
    assert max(waits) < STALL_LIMIT_SECONDS, f"/healthz waited {max(waits):.2f} s"
