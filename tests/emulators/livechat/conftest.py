"""Fixtures: an emulator, a client reaching it in-process, a webhook recorder, an agent console,
and ``flow``: the calls a bridge makes, written out by hand against LiveChat's documented shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from livehandoff.emulators.livechat import AgentConsole, LiveChatEmulator, WebhookRecorder

BASE_URL = "http://livechat.test"


def webhook_registration(action: str, url: str, client_id: str, **extra: Any) -> dict[str, Any]:
    """A ``register_webhook`` body for a license webhook of the seeded app, secret ``s3cret``."""
    return {
        "action": action,
        "secret_key": "s3cret",
        "url": url,
        "type": "license",
        "owner_client_id": client_id,
        **extra,
    }


@dataclass
class CustomerIdentity:
    """A customer as the bridge knows it: id and current token."""

    id: str
    token: str


class Flow:
    """What the bridge does, spelled as raw HTTP so the tests pin the wire shapes."""

    def __init__(self, emu: LiveChatEmulator, api: httpx.AsyncClient) -> None:
        self.emu = emu
        self.api = api
        self.creds = emu.credentials

    async def agent_token(self, refresh_token: str | None = None) -> str:
        """Refresh grant → OAuth agent access token."""
        response = await self.api.post(
            "/v2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token or self.creds.refresh_token,
                "client_id": self.creds.client_id,
                "client_secret": self.creds.client_secret,
            },
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def customer_token_response(self, agent_token: str, **extra: Any) -> httpx.Response:
        """Raw agent_token grant."""
        body = {
            "grant_type": "agent_token",
            "client_id": self.creds.client_id,
            "response_type": "token",
            **extra,
        }
        return await self.api.post(
            "/v2/customer/token", json=body, headers={"Authorization": f"Bearer {agent_token}"}
        )

    async def new_customer(self, client_id: str | None = None) -> CustomerIdentity:
        """A fresh customer identity with a token, obtained for the seeded app or ``client_id``."""
        extra = {"client_id": client_id} if client_id else {}
        response = await self.customer_token_response(await self.agent_token(), **extra)
        assert response.status_code == 200, response.text
        body = response.json()
        return CustomerIdentity(id=body["entity_id"], token=body["access_token"])

    async def customer(
        self, method: str, customer: CustomerIdentity, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        """A Customer Chat API call."""
        return await self.api.post(
            f"/v3.6/customer/action/{method}",
            params={"organization_id": self.creds.organization_id},
            json=body or {},
            headers={"Authorization": f"Bearer {customer.token}"},
        )

    async def start_chat(
        self, customer: CustomerIdentity, text: str = "I want a human", **body: Any
    ) -> dict[str, Any]:
        """start_chat with one initial message; must succeed."""
        request = {
            "chat": {"thread": {"events": [{"type": "message", "text": text, "visibility": "all"}]}},
            **body,
        }
        response = await self.customer("start_chat", customer, request)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def configuration(
        self, method: str, body: dict[str, Any] | None = None, *, auth: str | None = None
    ) -> httpx.Response:
        """A Configuration API call, PAT by default."""
        return await self.api.post(
            f"/v3.6/configuration/action/{method}",
            json=body or {},
            headers={"Authorization": auth or self.creds.pat_authorization},
        )

    async def register(self, action: str, url: str, **extra: Any) -> str:
        """register_webhook as the seeded app; returns the webhook id."""
        body = webhook_registration(action, url, self.creds.client_id, **extra)
        response = await self.configuration("register_webhook", body)
        assert response.status_code == 200, response.text
        return str(response.json()["id"])


@pytest.fixture
async def emu() -> AsyncIterator[LiveChatEmulator]:
    emulator = LiveChatEmulator(retry_delays=(0.0, 0.0, 0.0))
    yield emulator
    await emulator.aclose()


@pytest.fixture
async def api(emu: LiveChatEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=BASE_URL) as client:
        yield client


@pytest.fixture
async def recorder(emu: LiveChatEmulator) -> AsyncIterator[WebhookRecorder]:
    receiver = WebhookRecorder()
    async with receiver.client() as client:
        emu.set_webhook_client(client)
        yield receiver
        await emu.wait_idle()


@pytest.fixture
def console(emu: LiveChatEmulator, api: httpx.AsyncClient) -> AgentConsole:
    return AgentConsole(api, emu.credentials.pat_authorization)


@pytest.fixture
def flow(emu: LiveChatEmulator, api: httpx.AsyncClient) -> Flow:
    return Flow(emu, api)


@pytest.fixture
def flow_class() -> type[Flow]:
    """For tests that build their own emulator."""
    return Flow
