"""LiveChat as seen through ``httpx.MockTransport``.

``FakeLiveChat`` checks what LiveChat checks (paths, the ``organization_id`` query, bearer tokens of the
right family, body encodings and required fields), answers from the JSON fixtures, and records every
call so tests can assert the exact sequence.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from livehandoff.integrations.livechat.auth import TokenManager
from livehandoff.integrations.livechat.client import LiveChatClient
from livehandoff.integrations.livechat.desk import LiveChatDesk

FIXTURES = Path(__file__).parent / "fixtures"

API_URL = "https://api.livechat.test"
ACCOUNTS_URL = "https://accounts.livechat.test"
ORGANIZATION_ID = "390e44e6-f1e6-0368c-z6ddb-74g14508c2ex"
LICENSE_ID = "104130623"
CLIENT_ID = "9cbf3a968289727cb3cdfe83ab1d9836"
CLIENT_SECRET = "app-secret-do-not-leak"
REFRESH_TOKEN = "refresh-token-do-not-leak"
GROUP_ID = 2


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def api_error(error_type: str, status: int = 400, message: str = "Something went wrong") -> httpx.Response:
    return httpx.Response(status, json={"error": {"type": error_type, "message": message}})


def oauth_error(code: str, status: int = 401, description: str = "Refused") -> httpx.Response:
    return httpx.Response(status, json={"oauth_exception": code, "exception_description": description})


@dataclass(frozen=True)
class Call:
    """One request LiveChat received."""

    method: str
    url: httpx.URL
    headers: httpx.Headers
    content: bytes

    @property
    def path(self) -> str:
        return self.url.path

    @property
    def action(self) -> str:
        return self.url.path.rsplit("/", 1)[-1]

    @property
    def query(self) -> dict[str, str]:
        return dict(self.url.params)

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("Authorization", "")
        return value.removeprefix("Bearer ") if value.startswith("Bearer ") else None

    def json(self) -> Any:
        assert self.headers["Content-Type"] == "application/json"
        return json.loads(self.content)

    def form(self) -> dict[str, str]:
        assert self.headers["Content-Type"] == "application/x-www-form-urlencoded"
        return {key: values[0] for key, values in parse_qs(self.content.decode()).items()}


CustomerHandler = Callable[[Call, str], httpx.Response]
AgentHandler = Callable[[Call], httpx.Response]


class FakeLiveChat:
    """Accounts, Customer Chat and Configuration APIs, just deep enough for the client's tests."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.latency = 0.0
        self.refresh_token = REFRESH_TOKEN
        self.rotate_refresh_token = False
        self.agent_expires_in = 28800
        self.customer_expires_in = 28800
        self.agent_tokens: set[str] = set()
        self.customer_tokens: dict[str, str] = {}
        self.known_customers: set[str] = {load("customer_token")["entity_id"]}
        self._serial = itertools.count(1)
        self.customer_actions: dict[str, CustomerHandler] = {
            "update_customer": lambda call, entity: httpx.Response(200),
            "start_chat": lambda call, entity: httpx.Response(200, json=load("start_chat")),
            "resume_chat": lambda call, entity: httpx.Response(200, json=load("resume_chat")),
            "send_event": self._send_event,
            "get_chat": lambda call, entity: httpx.Response(200, json=load("get_chat")),
            "list_chats": lambda call, entity: httpx.Response(200, json=load("list_chats")),
        }
        self.configuration_actions: dict[str, AgentHandler] = {
            "list_webhooks": lambda call: httpx.Response(200, json=load("list_webhooks")),
            "register_webhook": lambda call: httpx.Response(200, json=load("register_webhook")),
            "unregister_webhook": lambda call: httpx.Response(200),
        }
        self.token_route: AgentHandler = self._refresh
        self.customer_token_route: AgentHandler = self._customer_token
        self.organization_route: AgentHandler = lambda call: httpx.Response(200, json=load("organization_id"))

    # --- what tests look at

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def actions(self) -> list[str]:
        return [call.action if "/action/" in call.path else call.path for call in self.calls]

    def calls_to(self, action: str) -> list[Call]:
        return [call for call in self.calls if call.action == action]

    def revoke_all_tokens(self) -> None:
        self.agent_tokens.clear()
        self.customer_tokens.clear()

    # --- routing

    async def handle(self, request: httpx.Request) -> httpx.Response:
        call = Call(request.method, request.url, request.headers, request.content)
        self.calls.append(call)
        if self.latency:
            await asyncio.sleep(self.latency)
        url = str(request.url)
        if url.startswith(ACCOUNTS_URL):
            return self._accounts(call)
        assert url.startswith(API_URL), url
        return self._api(call)

    def _accounts(self, call: Call) -> httpx.Response:
        assert call.method == "POST"
        if call.path == "/v2/token":
            return self.token_route(call)
        if call.path == "/v2/customer/token":
            return self.customer_token_route(call)
        return httpx.Response(404)

    def _api(self, call: Call) -> httpx.Response:
        if call.path == "/v3.4/configuration/action/get_organization_id":
            assert call.method == "GET"
            return self.organization_route(call)
        assert call.method == "POST"
        if call.path.startswith("/v3.6/customer/action/"):
            return self._customer_action(call)
        if call.path.startswith("/v3.6/configuration/action/"):
            if call.bearer not in self.agent_tokens:
                return api_error("authentication", 401, "Invalid access token")
            return self.configuration_actions[call.action](call)
        return httpx.Response(404)

    def _customer_action(self, call: Call) -> httpx.Response:
        if call.query.get("organization_id") != ORGANIZATION_ID:
            return api_error("validation", 400, "organization_id is required")
        entity = self.customer_tokens.get(call.bearer or "")
        if entity is None:
            return api_error("authentication", 401, "Invalid access token")
        call.json()
        return self.customer_actions[call.action](call, entity)

    # --- accounts

    def _refresh(self, call: Call) -> httpx.Response:
        form = call.form()
        expected = {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }
        if form != expected:
            return oauth_error("invalid_grant", 400, "Invalid refresh token")
        body = load("agent_token")
        body["access_token"] = f"dal:agent-{next(self._serial)}"
        body["expires_in"] = self.agent_expires_in
        self.agent_tokens.add(body["access_token"])
        if self.rotate_refresh_token:
            self.refresh_token = body["refresh_token"] = f"refresh-{next(self._serial)}"
        else:
            body["refresh_token"] = self.refresh_token
        return httpx.Response(200, json=body)

    def _customer_token(self, call: Call) -> httpx.Response:
        if call.bearer not in self.agent_tokens:
            return oauth_error("invalid_request", 401, "Invalid access token")
        body = call.json()
        assert body["grant_type"] == "agent_token"
        assert body["client_id"] == CLIENT_ID
        assert body["response_type"] == "token"
        entity_id = body.get("entity_id") or f"{next(self._serial):08d}-1afe-4a3e-4cc0-a3148f1143db"
        if entity_id not in self.known_customers and "entity_id" in body:
            return oauth_error("resource_not_found", 404, "Customer not found")
        self.known_customers.add(entity_id)
        answer = load("customer_token")
        answer.update(
            access_token=f"dal:customer-{next(self._serial)}",
            entity_id=entity_id,
            expires_in=self.customer_expires_in,
        )
        self.customer_tokens[answer["access_token"]] = entity_id
        return httpx.Response(200, json=answer)

    def _send_event(self, call: Call, entity: str) -> httpx.Response:
        body = call.json()
        assert body["event"]["type"] == "message"
        assert len(body["event"]["text"].encode()) <= 16 * 1024
        return httpx.Response(200, json={"event_id": f"K600PKZON8_{next(self._serial)}"})


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake() -> FakeLiveChat:
    return FakeLiveChat()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def http(fake: FakeLiveChat) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        yield http


@pytest.fixture
def client(http: httpx.AsyncClient) -> LiveChatClient:
    return LiveChatClient(http, api_url=API_URL, accounts_url=ACCOUNTS_URL)


@pytest.fixture
def tokens(client: LiveChatClient, clock: FakeClock) -> TokenManager:
    return TokenManager(
        client,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN,
        organization_id=ORGANIZATION_ID,
        clock=clock,
    )


@pytest.fixture
def desk(client: LiveChatClient, tokens: TokenManager) -> LiveChatDesk:
    return LiveChatDesk(client, tokens=tokens, group_id=GROUP_ID)
