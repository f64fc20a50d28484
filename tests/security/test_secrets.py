"""Secrets never leak: not into logs, error bodies, exception messages or ``livehandoff check``.

A whole conversation runs with distinctive secret values — the OAuth client secret, the refresh token,
the webhook secret, the fulfillment password and token, the conversation token, and every agent and
customer access token LiveChat hands out — and with the requests an attacker or a broken client sends.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from google.cloud.dialogflow_v2.types import Intent, QueryResult, WebhookRequest
from pydantic import SecretStr

from livehandoff.config import Settings
from livehandoff.emulators.livechat.seed import parse_seed
from livehandoff.errors import DeskError
from livehandoff.integrations.livechat import LiveChatClient, TokenManager
from livehandoff.integrations.livechat.client import CustomerCredentials
from livehandoff.logs import LogFormat
from tests.security.conftest import BRIDGE, LIVECHAT, InProcess, in_process
from tests.security.production_logs import json_lines, production_logs

CLIENT_SECRET = "SECRET-client-secret-3d9f1a7c"
REFRESH_TOKEN = "SECRET-refresh-token-8b2e6f0d"
WEBHOOK_SECRET = "SECRET-webhook-secret-5c4a9e1b"
FULFILLMENT_PASSWORD = "SECRET-fulfillment-password-7e3b"
FULFILLMENT_TOKEN = "SECRET-fulfillment-token-2f8d"
PAT = "dal:SECRET-agent-pat-6a1c9d4e"
AGENT_ID = "anna@example.com"
ACCOUNT_ID = "0f2d9c1e-7b3a-4e5d-9c8b-1a2b3c4d5e6f"
CLIENT_ID = "5a1b8c0d2e3f4a5b6c7d8e9f0a1b2c3d"
SESSION = "projects/livehandoff-demo/agent/sessions/messenger-1"

SEED = parse_seed(
    {
        "organizations": [
            {
                "agents": [{"id": AGENT_ID, "name": "Anna", "account_id": ACCOUNT_ID, "pat": PAT}],
                "apps": [
                    {
                        "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET,
                        "refresh_tokens": [{"token": REFRESH_TOKEN, "agent_id": AGENT_ID}],
                    }
                ],
            }
        ]
    }
)


class Leaks:
    """Everything that must not show a secret: log events, log records, error bodies, exceptions."""

    def __init__(self) -> None:
        self.places: list[tuple[str, str]] = []

    def add(self, where: str, text: object) -> None:
        self.places.append((where, str(text)))

    def response(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            self.add(
                f"{response.request.method} {response.request.url.path} {response.status_code}", response.text
            )
        self.add(f"headers of {response.request.url.path}", dict(response.headers))
        return response

    def assert_none_of(self, secrets: set[str]) -> None:
        found = [(where, secret) for where, text in self.places for secret in secrets if shows(text, secret)]
        assert not found, found


def shows(text: str, secret: str) -> bool:
    """Whether ``text`` shows ``secret``, or its start or end (a truncated repr still leaks a part)."""
    assert len(secret) >= 16, "too short to search for"
    return any(part in text for part in (secret, secret[:12], secret[-12:]))


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[InProcess]:
    async with in_process(
        tmp_path,
        seed=SEED,
        livechat_webhook_secret=WEBHOOK_SECRET,
        dialogflow_webhook_username="dialogflow",
        dialogflow_webhook_password=FULFILLMENT_PASSWORD,
        dialogflow_webhook_token=FULFILLMENT_TOKEN,
    ) as running:
        yield running


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(10):
        while True:
            if await check():
                return
            await asyncio.sleep(0.02)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def es_turn(text: str, *, handoff: bool = False) -> str:
    result = QueryResult(
        query_text=text, language_code="en", intent=Intent(display_name="x", live_agent_handoff=handoff)
    )
    return str(WebhookRequest.to_json(WebhookRequest(session=SESSION, query_result=result)))


async def converse(world: InProcess, leaks: Leaks) -> set[str]:
    """A handoff and back, plus the requests of attackers and broken clients; returns the tokens seen."""
    async with world.client() as bridge, world.livechat() as livechat:
        created = leaks.response(await bridge.post("/v1/conversations", json={"customer": {"name": "Jo"}}))
        url, token = f"/v1/conversations/{created.json()['id']}", created.json()["token"]
        auth = {"authorization": f"Bearer {token}"}

        async def state() -> str:
            return str(leaks.response(await bridge.get(url, headers=auth)).json()["state"])

        async def agent(method: str, body: dict[str, Any]) -> Any:
            answer = await livechat.post(f"/v3.6/agent/action/{method}", json=body, auth=(ACCOUNT_ID, PAT))
            assert answer.status_code == 200, answer.text
            return answer.json()

        leaks.response(
            await bridge.post(f"{url}/messages", json={"text": "I want to talk to an agent"}, headers=auth)
        )

        async def with_agent() -> bool:
            return await state() == "agent"

        await until(with_agent)
        chat_id = (await agent("list_chats", {}))["chats_summary"][0]["id"]
        await agent("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "Hi, Anna here"}})
        leaks.response(await bridge.post(f"{url}/messages", json={"text": "thanks"}, headers=auth))
        await agent("deactivate_chat", {"id": chat_id})

        async def ended() -> bool:
            return await state() == "ended"

        await until(ended)
        await attack(bridge, url, token, leaks)
        fulfilled = leaks.response(
            await bridge.post(
                "/webhooks/dialogflow",
                content=es_turn("hello"),
                headers={"authorization": basic("dialogflow", FULFILLMENT_PASSWORD)},
            )
        )
        assert fulfilled.status_code == 200
        await world.app.state.services.bridge.drain()
        await world.emulator.wait_idle()
    return {token}


async def attack(bridge: httpx.AsyncClient, url: str, token: str, leaks: Leaks) -> None:
    """Wrong credentials and broken bodies, some of them carrying the secrets themselves."""
    auth = {"authorization": f"Bearer {token}"}
    attempts = [
        bridge.get(url, headers={"authorization": f"Bearer {token}x"}),
        bridge.get(url, params={"token": token}),
        bridge.get(f"{url}/events", headers={**auth, "last-event-id": token}),
        bridge.post(f"{url}/messages", json={"text": 5, "token": token}, headers=auth),
        bridge.post(f"{url}/messages", json={"text": token * 2000}, headers=auth),
        bridge.post("/v1/conversations", json={"language": token, "customer": {"email": WEBHOOK_SECRET}}),
        bridge.post("/v1/conversations", content=b"{" + token.encode() * 5000),
        bridge.post(
            "/webhooks/livechat", json={"secret_key": WEBHOOK_SECRET + "x", "action": "incoming_event"}
        ),
        bridge.post("/webhooks/livechat", json={"secret_key": WEBHOOK_SECRET, "webhook_id": 1}),
        bridge.post(
            "/webhooks/livechat",
            json={
                "secret_key": WEBHOOK_SECRET,
                "webhook_id": "w",
                "action": "incoming_event",
                "organization_id": "o",
                "payload": {"chat_id": 1, "event": {"text": CLIENT_SECRET}},
            },
        ),
        bridge.post("/webhooks/dialogflow", content=es_turn("hi"), headers={"x-livehandoff-token": "nope"}),
        bridge.post(
            "/webhooks/dialogflow-cx",
            content=b"{" + FULFILLMENT_TOKEN.encode(),
            headers={"x-livehandoff-token": FULFILLMENT_TOKEN},
        ),
        bridge.post(
            "/webhooks/dialogflow",
            content=es_turn("hi"),
            headers={"authorization": basic("dialogflow", FULFILLMENT_PASSWORD + "x")},
        ),
    ]
    for attempt in attempts:
        response = leaks.response(await attempt)
        assert 400 <= response.status_code < 500, response.text


async def test_a_whole_conversation_leaks_no_secret(
    world: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    leaks = Leaks()
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as events:
        tokens = await converse(world, leaks)
    for event in events:
        leaks.add(f"log event {event.get('event')}", event)
    for record in caplog.records:
        if not (record.name == "httpx" and BRIDGE in record.getMessage()):  # the test's own clients
            leaks.add(f"log record {record.name}", record.getMessage())
    assert any(event.get("event") == "conversation.state_changed" for event in events), "logs were captured"
    assert len(world.wire.credentials) >= 2, "an agent and a customer access token crossed the wire"
    leaks.assert_none_of(
        {CLIENT_SECRET, REFRESH_TOKEN, WEBHOOK_SECRET, FULFILLMENT_PASSWORD, FULFILLMENT_TOKEN, PAT}
        | tokens
        | world.wire.credentials
    )


MESSAGE_TEXTS = ("I want to talk to an agent", "Hi, Anna here")
"""What the customer and the agent say in ``converse``: customer data, in no log at any level."""


@pytest.mark.parametrize("log_format", ["json", "console"])
async def test_debug_logs_of_a_whole_conversation_show_no_secret_and_no_message_text(
    world: InProcess, log_format: LogFormat
) -> None:
    """As ``serve`` logs with ``LIVEHANDOFF_LOG_LEVEL=DEBUG``: our events and every library's records."""
    leaks = Leaks()
    with production_logs("DEBUG", log_format) as output:
        tokens = await converse(world, leaks)
    lines = output.getvalue().splitlines()
    if log_format == "json":
        records = json_lines(output)
        assert any(record.get("event") == "conversation.state_changed" for record in records)
        assert any(record.get("logger") == "httpx" for record in records), "library records are JSON too"
        lines = [  # the test's own clients log their requests to the bridge, tokens in URLs and all
            line
            for line, record in zip(lines, records, strict=True)
            if not (record.get("logger") == "httpx" and BRIDGE in str(record.get("event")))
        ]
    else:
        assert any("conversation.state_changed" in line for line in lines)
        lines = [line for line in lines if not ("HTTP Request" in line and BRIDGE in line)]
    leaks.add("DEBUG log", "\n".join(lines))
    leaks.assert_none_of(
        {CLIENT_SECRET, REFRESH_TOKEN, WEBHOOK_SECRET, FULFILLMENT_PASSWORD, FULFILLMENT_TOKEN, PAT}
        | tokens
        | world.wire.credentials
    )
    assert not [text for text in MESSAGE_TEXTS if any(text in line for line in lines)]


def test_every_secret_setting_is_a_secret_str() -> None:
    named = [
        name for name in Settings.model_fields if any(w in name for w in ("secret", "password", "token"))
    ]
    assert len(named) == 6
    for name in named:
        assert Settings.model_fields[name].annotation is SecretStr, name
    settings = Settings(livechat_client_secret=CLIENT_SECRET, dialogflow_webhook_token=FULFILLMENT_TOKEN)
    for shown in (repr(settings), str(settings), settings.model_dump_json(), settings.redacted()):
        assert CLIENT_SECRET not in str(shown)
        assert FULFILLMENT_TOKEN not in str(shown)


# --- what the LiveChat client raises ---------------------------------------------------------------


def assert_clean(exc: BaseException, secrets: set[str]) -> None:
    """Neither the exception nor anything chained to it shows a secret (a traceback prints them all)."""
    shown: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        shown += [str(current), repr(current), *traceback.format_exception_only(current)]
        current = current.__cause__ or current.__context__
    text = "\n".join(shown)
    assert not [secret for secret in secrets if shows(text, secret)], text


async def test_a_refused_refresh_token_raises_without_the_secrets(world: InProcess) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.emulator.app)) as http:
        client = LiveChatClient(http, api_url=LIVECHAT, accounts_url=LIVECHAT)
        wrong_secret = TokenManager(
            client, client_id=CLIENT_ID, client_secret="SECRET-wrong-secret-1", refresh_token=REFRESH_TOKEN
        )
        with pytest.raises(DeskError) as refused:
            await wrong_secret.agent_token()
        assert refused.value.status == 401
        assert_clean(refused.value, {"SECRET-wrong-secret-1", REFRESH_TOKEN})

        wrong_token = TokenManager(
            client, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token="SECRET-wrong-refresh-2"
        )
        with pytest.raises(DeskError) as refused:
            await wrong_token.agent_token()
        assert_clean(refused.value, {CLIENT_SECRET, "SECRET-wrong-refresh-2"})

        stale = CustomerCredentials(
            "entity", "dal:SECRET-customer-token", world.settings.livechat_organization_id
        )
        with pytest.raises(DeskError) as refused:
            await client.update_customer(stale, {"name": "Jo"})
        assert refused.value.error_type == "authentication"
        assert_clean(refused.value, {"dal:SECRET-customer-token"})


def echoing(request: httpx.Request) -> httpx.Response:
    """An upstream that quotes the credentials it was sent in its error messages."""
    if request.url.path == "/v2/token":
        form = dict(httpx.QueryParams(request.content.decode()))
        description = f"refresh token {form['refresh_token']} with secret {form['client_secret']} is unknown"
        return httpx.Response(
            400, json={"oauth_exception": "invalid_grant", "exception_description": description}
        )
    if request.url.path == "/v2/customer/token":
        return httpx.Response(200, json={"access_token": "SECRET-minted-token"})
    token = request.headers["authorization"].removeprefix("Bearer ")
    if token == "good-token":
        return httpx.Response(200, json=[{"id": 1, "secret_key": WEBHOOK_SECRET}])
    return httpx.Response(
        401, json={"error": {"type": "authentication", "message": f"token {token} expired"}}
    )


async def test_upstream_messages_that_quote_a_credential_are_scrubbed() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(echoing)) as http:
        client = LiveChatClient(http, api_url=LIVECHAT, accounts_url=LIVECHAT)
        with pytest.raises(DeskError) as refused:
            await client.refresh_agent_token(
                client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN
            )
        assert "invalid_grant" in str(refused.value)
        assert_clean(refused.value, {CLIENT_SECRET, REFRESH_TOKEN})

        with pytest.raises(DeskError) as refused:
            await client.list_webhooks("SECRET-agent-token", {"owner_client_id": CLIENT_ID})
        assert "expired" in str(refused.value)
        assert_clean(refused.value, {"SECRET-agent-token"})

        with pytest.raises(DeskError) as malformed:
            await client.grant_customer_token(agent_token="SECRET-agent-token", client_id=CLIENT_ID)
        assert_clean(malformed.value, {"SECRET-agent-token", "SECRET-minted-token"})

        with pytest.raises(DeskError) as malformed:
            await client.list_webhooks("good-token", {"owner_client_id": CLIENT_ID})
        assert_clean(malformed.value, {WEBHOOK_SECRET})
