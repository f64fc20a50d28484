"""Every secret is compared in constant time, fulfillment webhooks without configured credentials refuse
everything, and a long customer message reaches LiveChat split to fit its 16 KB event limit."""

from __future__ import annotations

import asyncio
import base64
import hmac
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from livehandoff.integrations.livechat.translate import MAX_EVENT_TEXT_BYTES
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
