"""Fixtures for fault injection: a LiveChat emulator reached in-process with the calls the bridge
makes spelled as raw HTTP, a webhook recorder, and Dialogflow emulators of the demo agents."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from livehandoff.demo import demo_agent_path, demo_cx_agent_path
from livehandoff.emulators.dialogflow import Agent, load_agent
from livehandoff.emulators.dialogflow.cx import CxAgent, load_cx_agent
from livehandoff.emulators.livechat import AgentConsole, FaultConfig, LiveChatEmulator, WebhookRecorder
from tests.emulators.livechat.conftest import webhook_registration

BASE_URL = "http://livechat.test"
FAST_RETRIES = (0.01, 0.01, 0.01)
ES_SESSION = "projects/p/agent/sessions/s-1"
CX_SESSION = "projects/p/locations/global/agents/a/sessions/s-1"


class LiveChat:
    """One emulator and a client reaching it; what the bridge and an agent do, as raw HTTP."""

    def __init__(self, emu: LiveChatEmulator, http: httpx.AsyncClient) -> None:
        self.emu = emu
        self.http = http
        self.creds = emu.credentials
        self.agent = AgentConsole(http, self.creds.pat_authorization)

    def configure(self, data: dict[str, Any] | None) -> None:
        """Faults from their JSON form, or none."""
        self.emu.faults.configure(FaultConfig.from_dict(data) if data is not None else None)

    async def token_response(self) -> httpx.Response:
        """The refresh grant the bridge uses for its agent identity."""
        return await self.http.post(
            "/v2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": self.creds.refresh_token,
                "client_id": self.creds.client_id,
                "client_secret": self.creds.client_secret,
            },
        )

    async def agent_token(self) -> str:
        """An OAuth agent access token; must succeed."""
        response = await self.token_response()
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def new_customer(self) -> str:
        """A new customer's access token (agent_token grant); must succeed."""
        response = await self.http.post(
            "/v2/customer/token",
            json={"grant_type": "agent_token", "client_id": self.creds.client_id, "response_type": "token"},
            headers={"Authorization": f"Bearer {await self.agent_token()}"},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def customer(self, method: str, token: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """One Customer Chat API call."""
        return await self.http.post(
            f"/v3.6/customer/action/{method}",
            params={"organization_id": self.creds.organization_id},
            json=body or {},
            headers={"Authorization": f"Bearer {token}"},
        )

    async def start_chat(self, token: str, text: str = "I want a human") -> httpx.Response:
        """start_chat with one message."""
        event = {"type": "message", "text": text, "visibility": "all"}
        return await self.customer("start_chat", token, {"chat": {"thread": {"events": [event]}}})

    async def chat_id(self, token: str) -> str:
        """Start a chat that must succeed; its id."""
        response = await self.start_chat(token)
        assert response.status_code == 200, response.text
        return str(response.json()["chat_id"])

    async def send_text(self, token: str, chat_id: str, text: str) -> httpx.Response:
        """send_event with a message."""
        event = {"type": "message", "text": text, "visibility": "all"}
        return await self.customer("send_event", token, {"chat_id": chat_id, "event": event})

    async def texts(self, chat_id: str) -> list[str]:
        """Message texts of the chat's latest thread, as the agent sees them."""
        chat = await self.agent.get_chat(chat_id)
        return [event["text"] for event in chat["thread"]["events"] if event["type"] == "message"]

    async def register(self, action: str, url: str) -> None:
        """register_webhook as the seeded app."""
        response = await self.http.post(
            "/v3.6/configuration/action/register_webhook",
            json=webhook_registration(action, url, self.creds.client_id),
            headers={"Authorization": self.creds.pat_authorization},
        )
        assert response.status_code == 200, response.text


@pytest.fixture
async def livechat() -> AsyncIterator[LiveChat]:
    emulator = LiveChatEmulator(retry_delays=FAST_RETRIES)
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield LiveChat(emulator, http)
    await emulator.aclose()


@pytest.fixture
async def recorder(livechat: LiveChat) -> AsyncIterator[WebhookRecorder]:
    receiver = WebhookRecorder()
    async with receiver.client() as client:
        livechat.emu.set_webhook_client(client)
        yield receiver
        await livechat.emu.wait_idle()


@pytest.fixture(scope="session")
def es_agent() -> Agent:
    return load_agent(demo_agent_path())


@pytest.fixture(scope="session")
def cx_agent() -> CxAgent:
    return load_cx_agent(demo_cx_agent_path())


def es_query(text: str = "hello") -> dict[str, Any]:
    """An ES detectIntent body."""
    return {"queryInput": {"text": {"text": text, "languageCode": "en"}}}


def cx_query(text: str = "hello") -> dict[str, Any]:
    """A CX detectIntent body."""
    return {"queryInput": {"text": {"text": text}, "languageCode": "en"}}


async def timed(call: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    """The response and the seconds it took."""
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


async def eventually(condition: Callable[[], bool], *, within: float = 2.0) -> None:
    """Wait until ``condition`` holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)
