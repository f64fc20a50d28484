"""Every secret is compared in constant time, a conversation's token is checked before anything else of the
request, fulfillment webhooks without configured credentials refuse everything, and a long customer message
reaches LiveChat split to fit its 16 KB event limit."""

from __future__ import annotations

import asyncio
import base64
import hmac
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from livehandoff.config import Settings
from livehandoff.integrations.livechat.translate import MAX_EVENT_TEXT_BYTES
from livehandoff.web.app import create_app
from tests.security.conftest import InProcess, in_process

WEBHOOK_SECRET = "auth-test-webhook-secret"
FULFILLMENT_TOKEN = "auth-test-fulfillment-token"
PASSWORD = "auth-test-password"


class Comparisons:
    """Records what ``hmac.compare_digest`` was asked to compare, and still compares."""

    def __init__(self, original: Callable[[Any, Any], bool]) -> None:
        self.original = original
        self.seen: list[tuple[bytes, bytes]] = []

    def __call__(self, a: Any, b: Any) -> bool:
        self.seen.append(
            (bytes(a, "utf-8") if isinstance(a, str) else a, bytes(b, "utf-8") if isinstance(b, str) else b)
        )
        return self.original(a, b)

    def compared(self, secret: str) -> bool:
        return any(secret.encode() in pair for pair in self.seen)


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> Comparisons:
    spy = Comparisons(hmac.compare_digest)
    monkeypatch.setattr(hmac, "compare_digest", spy)
    return spy


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[InProcess]:
    async with in_process(
        tmp_path,
        livechat_webhook_secret=WEBHOOK_SECRET,
        dialogflow_webhook_token=FULFILLMENT_TOKEN,
        dialogflow_webhook_username="dialogflow",
        dialogflow_webhook_password=PASSWORD,
        max_message_chars=16000,
        max_body_bytes=262144,
    ) as running:
        yield running


async def test_secrets_are_compared_in_constant_time(world: InProcess, comparisons: Comparisons) -> None:
    async with world.client() as bridge:
        assert (await bridge.post("/webhooks/livechat", json={"secret_key": "guess"})).status_code == 401
        assert comparisons.compared(WEBHOOK_SECRET)

        wrong = {
            "x-livehandoff-token": "guess",
            "authorization": "Basic " + base64.b64encode(b"dialogflow:guess").decode(),
        }
        assert (await bridge.post("/webhooks/dialogflow", json={}, headers=wrong)).status_code == 401
        assert comparisons.compared(FULFILLMENT_TOKEN)
        assert comparisons.compared(PASSWORD)

        created = (await bridge.post("/v1/conversations")).json()
        comparisons.seen.clear()
        denied = await bridge.get(
            f"/v1/conversations/{created['id']}", headers={"authorization": "Bearer guess"}
        )
        assert denied.status_code == 401
        assert comparisons.seen, "the token's hash is compared in constant time"


INVALID_REQUESTS = [
    pytest.param("POST", "messages", {"json": {"text": " "}}, id="blank-message"),
    pytest.param("POST", "messages", {"json": {"text": "hi", "extra": 1}}, id="unknown-field"),
    pytest.param("POST", "messages", {"json": {"text": "x" * 16001}}, id="message-over-the-limit"),
    pytest.param(
        "POST", "messages", {"json": {"text": "hi"}, "headers": {"idempotency-key": "a b"}}, id="bad-key"
    ),
    pytest.param("POST", "delivered", {"json": {"seq": True}}, id="delivered-seq-true"),
    pytest.param("GET", "events", {"params": {"after": "-1"}}, id="events-after-negative"),
]


@pytest.mark.parametrize(("method", "path", "request_parts"), INVALID_REQUESTS)
@pytest.mark.parametrize("authorization", [None, "Bearer guess"])
async def test_the_token_is_checked_before_the_rest_of_the_request(
    world: InProcess, method: str, path: str, request_parts: dict[str, Any], authorization: str | None
) -> None:
    """A request without the conversation's token learns nothing about what else would be refused."""
    async with world.client() as bridge:
        created = (await bridge.post("/v1/conversations")).json()
        url = f"/v1/conversations/{created['id']}/{path}"
        headers = request_parts.get("headers", {})
        parts = {key: value for key, value in request_parts.items() if key != "headers"}

        wrong = {**headers, "authorization": authorization} if authorization else headers
        refused = await bridge.request(method, url, headers=wrong, **parts)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["type"] == "unauthorized"

        right = {**headers, "authorization": f"Bearer {created['token']}"}
        invalid = await bridge.request(method, url, headers=right, **parts)
        assert invalid.status_code == 422, invalid.text
        assert invalid.json()["error"]["type"] == "validation"


def test_only_the_event_stream_takes_a_token_in_the_query() -> None:
    document = create_app(Settings()).openapi()
    with_token = [
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if any(p["in"] == "query" and p["name"] == "token" for p in operation.get("parameters", []))
    ]
    assert with_token == [("get", "/v1/conversations/{conversation_id}/events")]


@pytest.mark.parametrize("path", ["/webhooks/dialogflow", "/webhooks/dialogflow-cx"])
async def test_a_refused_fulfillment_caller_gets_the_error_body_and_is_logged(
    world: InProcess, path: str
) -> None:
    async with world.client() as bridge:
        with capture_logs() as logs:
            response = await bridge.post(path, json={}, headers={"x-livehandoff-token": "guess"})

    assert response.status_code == 401
    assert response.json() == {
        "error": {"type": "unauthorized", "message": "fulfillment webhook credentials are missing or wrong"}
    }
    assert [(log["event"], log["log_level"]) for log in logs] == [("fulfillment.unauthorized", "warning")]


@pytest.fixture
async def unprotected(tmp_path: Path) -> AsyncIterator[InProcess]:
    async with in_process(tmp_path, dialogflow_webhook_username="dialogflow") as running:
        yield running


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-livehandoff-token": ""},
        {"authorization": "Basic " + base64.b64encode(b"dialogflow:").decode()},
        {"authorization": "Basic not-base64!"},
    ],
)
async def test_fulfillment_without_configured_credentials_refuses_everything(
    unprotected: InProcess, headers: dict[str, str]
) -> None:
    async with unprotected.client() as bridge:
        for path in ("/webhooks/dialogflow", "/webhooks/dialogflow-cx"):
            response = await bridge.post(path, json={"session": "s"}, headers=headers)
            assert response.status_code == 401
            assert response.json()["error"]["type"] == "unauthorized"


@pytest.mark.parametrize("secret_key", ["", "anything"])
async def test_livechat_webhooks_without_a_configured_secret_are_all_refused(
    tmp_path: Path, secret_key: str
) -> None:
    webhook = {
        "webhook_id": "w1",
        "secret_key": secret_key,
        "action": "chat_deactivated",
        "organization_id": "org",
        "payload": {"chat_id": "CHAT000001", "thread_id": "T1", "user_id": "anna@example.com"},
        "additional_data": {},
    }
    unprotected = in_process(tmp_path, livechat_webhook_secret="", livechat_register_webhooks=False)
    async with unprotected as running, running.client() as bridge:
        response = await bridge.post("/webhooks/livechat", json=webhook)

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "unauthorized"


async def test_a_long_message_reaches_livechat_in_pieces_that_fit(world: InProcess) -> None:
    text = ("Grüße aus Köln — " * 1000)[:16000]
    assert len(text.encode()) > MAX_EVENT_TEXT_BYTES
    async with world.client() as bridge, world.livechat() as livechat:
        created = (await bridge.post("/v1/conversations")).json()
        url, auth = f"/v1/conversations/{created['id']}", {"authorization": f"Bearer {created['token']}"}
        assert (
            await bridge.post(f"{url}/messages", json={"text": "talk to an agent"}, headers=auth)
        ).status_code == 202
        async with asyncio.timeout(10):
            while True:
                if (await bridge.get(url, headers=auth)).json()["state"] == "agent":
                    break
                await asyncio.sleep(0.02)
        assert (await bridge.post(f"{url}/messages", json={"text": text}, headers=auth)).status_code == 202
        await world.app.state.services.bridge.drain()

        agent = (world.emulator.credentials.agent_account_id, world.emulator.credentials.agent_pat)
        chats = (await livechat.post("/v3.6/agent/action/list_chats", json={}, auth=agent)).json()
        chat = (
            await livechat.post(
                "/v3.6/agent/action/get_chat", json={"chat_id": chats["chats_summary"][0]["id"]}, auth=agent
            )
        ).json()
        texts = [e["text"] for e in chat["thread"]["events"] if e.get("type") == "message"]
        pieces = [piece for piece in texts if "Köln" in piece]
        assert len(pieces) >= 2
        assert all(len(piece.encode()) <= MAX_EVENT_TEXT_BYTES for piece in pieces)
        assert "".join(pieces) == text
