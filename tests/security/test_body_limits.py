"""Every request body is size-limited: 413 ``too_large`` over the limit, and nothing changes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from livehandoff.devstack import Stack, run_stack
from livehandoff.web.limits import BodySizeLimit

SMALL = 65536
WEBHOOK = 1048576
SHOP = "https://shop.example"


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'bridge.sqlite3'}"
    async with run_stack(
        database_url=database_url, allowed_origins=(SHOP,), dialogflow_webhook_token="df-token"
    ) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=20) as client:
        yield client


def padded(document: Any, size: int) -> bytes:
    """``document`` as JSON, padded with trailing spaces to exactly ``size`` bytes (still valid JSON)."""
    raw = json.dumps(document).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


async def chunks(body: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    """A body without Content-Length: httpx sends it chunked."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def conversation_count(stack: Stack) -> int:
    path = stack.settings.database_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as db:
        count: int = db.execute("select count(*) from conversations").fetchone()[0]
    return count


def assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["type"] == "too_large"
    assert str(limit) in error["message"]


async def start(http: httpx.AsyncClient, stack: Stack) -> tuple[str, dict[str, str]]:
    created = (await http.post(f"{stack.bridge_url}/v1/conversations")).json()
    return f"{stack.bridge_url}/v1/conversations/{created['id']}", {
        "authorization": f"Bearer {created['token']}"
    }


async def test_customer_bodies_up_to_the_limit_pass_and_one_byte_more_is_refused(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    url, auth = await start(http, stack)
    headers = {**auth, "content-type": "application/json"}
    accepted = await http.post(f"{url}/messages", content=padded({"text": "hi"}, SMALL), headers=headers)
    assert accepted.status_code == 202, accepted.text

    refused = await http.post(f"{url}/messages", content=padded({"text": "no"}, SMALL + 1), headers=headers)
    assert_too_large(refused, SMALL)
    transcript = (await http.get(url, headers=auth)).json()["transcript"]
    assert [e["text"] for e in transcript if e["author"] == "customer"] == ["hi"]


async def test_a_chunked_body_over_the_limit_is_refused_and_creates_nothing(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    before = conversation_count(stack)
    body = padded({"language": "en"}, SMALL * 4)
    refused = await http.post(
        f"{stack.bridge_url}/v1/conversations",
        content=chunks(body),
        headers={"content-type": "application/json"},
    )
    assert "content-length" not in refused.request.headers
    assert_too_large(refused, SMALL)

    declared = await http.post(
        f"{stack.bridge_url}/v1/conversations", content=body, headers={"content-type": "application/json"}
    )
    assert_too_large(declared, SMALL)
    assert conversation_count(stack) == before

    fits = await http.post(
        f"{stack.bridge_url}/v1/conversations",
        content=chunks(padded({"language": "en"}, SMALL)),
        headers={"content-type": "application/json"},
    )
    assert fits.status_code == 201, fits.text
    assert conversation_count(stack) == before + 1


async def test_livechat_webhooks_have_their_own_larger_limit(stack: Stack, http: httpx.AsyncClient) -> None:
    url = f"{stack.bridge_url}/webhooks/livechat"
    envelope = {
        "webhook_id": "w-big",
        "secret_key": stack.settings.livechat_webhook_secret.get_secret_value(),
        "action": "incoming_chat",
        "organization_id": stack.credentials.organization_id,
        "payload": {"chat": {"id": "C1", "thread": {"events": [{"text": "x" * 1000}] * 400}}},
        "additional_data": {},
    }
    big = await http.post(
        url, content=padded(envelope, WEBHOOK), headers={"content-type": "application/json"}
    )
    assert big.status_code == 200, big.text
    assert big.json() == {"status": "ignored"}

    too_big = await http.post(
        url, content=chunks(padded(envelope, WEBHOOK + 1)), headers={"content-type": "application/json"}
    )
    assert_too_large(too_big, WEBHOOK)


async def test_fulfillment_webhooks_use_the_customer_api_limit(stack: Stack, http: httpx.AsyncClient) -> None:
    for path in ("/webhooks/dialogflow", "/webhooks/dialogflow-cx"):
        response = await http.post(
            stack.bridge_url + path,
            content=padded({"session": "s"}, SMALL + 1),
            headers={"content-type": "application/json", "x-livehandoff-token": "df-token"},
        )
        assert_too_large(response, SMALL)


async def test_a_page_can_read_the_413(stack: Stack, http: httpx.AsyncClient) -> None:
    response = await http.post(
        f"{stack.bridge_url}/v1/conversations",
        content=padded({}, SMALL + 1),
        headers={"content-type": "application/json", "origin": SHOP},
    )
    assert_too_large(response, SMALL)
    assert response.headers["access-control-allow-origin"] == SHOP


# --- the middleware on its own: what a server may hand it --------------------------------------------


class Downstream:
    """An app that records the body it was given."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        self.bodies.append(message.get("body", b""))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def call(
    limit: BodySizeLimit, messages: list[Message], headers: list[tuple[bytes, bytes]]
) -> tuple[list[Message], int]:
    """Run ``limit`` on one request; returns what it sent and how many messages it read."""
    sent: list[Message] = []
    read = 0

    async def receive() -> Message:
        nonlocal read
        read += 1
        return messages[read - 1]

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/v1/conversations", "headers": headers}
    await limit(scope, receive, send)
    return sent, read


def status(sent: list[Message]) -> int:
    code: int = sent[0]["status"]
    return code


async def test_streamed_bytes_are_counted_and_reading_stops_at_the_limit() -> None:
    app = Downstream()
    limit = BodySizeLimit(app, limit=10)
    parts = [{"type": "http.request", "body": b"x" * 4, "more_body": True} for _ in range(100)]
    sent, read = await call(limit, parts, [])
    assert status(sent) == 413
    assert read == 3, "the third chunk passes 10 bytes; nothing after it is read"
    assert app.bodies == []

    sent, _ = await call(limit, [*parts[:2], {"type": "http.request", "body": b"yy"}], [])
    assert status(sent) == 204
    assert app.bodies == [b"x" * 8 + b"yy"]


async def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    app = Downstream()
    sent, read = await call(BodySizeLimit(app, limit=10), [], [(b"content-length", b"11")])
    assert (status(sent), read, app.bodies) == (413, 0, [])
    sent, read = await call(BodySizeLimit(app, limit=10), [], [(b"content-length", b"ten")])
    assert (status(sent), read, app.bodies) == (400, 0, [])


async def test_a_client_that_leaves_mid_body_is_passed_on_as_a_disconnect() -> None:
    app = Downstream()
    messages: list[Message] = [
        {"type": "http.request", "body": b"abc", "more_body": True},
        {"type": "http.disconnect"},
    ]
    await call(BodySizeLimit(app, limit=10), messages, [])
    assert app.bodies == [b""]
