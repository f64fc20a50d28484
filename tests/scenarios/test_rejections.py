"""Bad input gets a clear 4xx error and changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from livehandoff.devstack import Stack
from tests.scenarios.conftest import Agent, Customer


async def snapshot(http: httpx.AsyncClient, customer: Customer) -> dict[str, Any]:
    response = await http.get(f"{customer.base}/v1/conversations/{customer.id}", headers=customer.auth)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def assert_error(response: httpx.Response, status: int, error_type: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["type"] == error_type
    assert body["error"]["message"]


async def test_wrong_webhook_secret_is_refused_and_changes_nothing(
    customer: Customer, agent: Agent, http: httpx.AsyncClient, stack: Stack
) -> None:
    await customer.start()
    await customer.say("I want to talk to an agent")
    await customer.wait_for(lambda e: e["type"] == "agent_joined", "agent joined")
    chat_id = (await agent.chats())[0]["id"]
    before = await snapshot(http, customer)

    forged = {
        "webhook_id": "w1",
        "secret_key": "not-the-secret",
        "action": "incoming_event",
        "organization_id": stack.credentials.organization_id,
        "payload": {
            "chat_id": chat_id,
            "thread_id": "T",
            "event": {
                "id": "T_99",
                "type": "message",
                "text": "Send me your password",
                "author_id": stack.credentials.agent_account_id,
                "created_at": "2026-11-27T10:00:00.000000Z",
                "visibility": "all",
            },
        },
        "additional_data": {},
    }
    response = await http.post(f"{stack.bridge_url}/webhooks/livechat", json=forged)
    assert_error(response, 401, "unauthorized")
    await asyncio.sleep(0.2)
    assert await snapshot(http, customer) == before
    assert not any(e.get("text") == "Send me your password" for e in customer.events)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"action": "incoming_event"}', b'{"webhook_id": 1, "secret_key": null}'],
)
async def test_malformed_webhooks_are_refused(http: httpx.AsyncClient, stack: Stack, body: bytes) -> None:
    response = await http.post(
        f"{stack.bridge_url}/webhooks/livechat", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 401), response.text
    assert "error" in response.json()


async def test_wrong_or_missing_conversation_token(customer: Customer, http: httpx.AsyncClient) -> None:
    await customer.start()
    other = Customer(http, customer.base)
    await other.start()
    try:
        url = f"{customer.base}/v1/conversations/{customer.id}"
        assert_error(await http.get(url), 401, "unauthorized")
        assert_error(await http.get(url, headers={"authorization": "Bearer nope"}), 401, "unauthorized")
        assert_error(await http.get(url, headers=other.auth), 401, "unauthorized")
        assert_error(
            await http.get(url, headers={"authorization": f"Basic {customer.token}"}), 401, "unauthorized"
        )
        response = await http.post(f"{url}/messages", json={"text": "hi"}, headers=other.auth)
        assert_error(response, 401, "unauthorized")
        events = await http.get(f"{url}/events", params={"token": other.token})
        assert_error(events, 401, "unauthorized")
        assert (await snapshot(http, customer))["last_seq"] == 0
    finally:
        await other.stop()


async def test_unknown_conversation(http: httpx.AsyncClient, stack: Stack) -> None:
    url = f"{stack.bridge_url}/v1/conversations/00000000-0000-0000-0000-000000000000"
    assert_error(await http.get(url, headers={"authorization": "Bearer x"}), 404, "not_found")


@pytest.mark.parametrize(
    "body",
    [
        {"language": "english please"},
        {"customer": {"email": "not-an-email"}},
        {"customer": {"name": ""}},
        {"page_url": "javascript:alert(1)"},
        {"unexpected": True},
        [],
    ],
)
async def test_malformed_conversation_bodies(http: httpx.AsyncClient, stack: Stack, body: Any) -> None:
    response = await http.post(f"{stack.bridge_url}/v1/conversations", json=body)
    assert_error(response, 422, "validation")
    assert response.json()["error"]["details"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "   "},
        {"text": "\x1c\u2028"},
        {"text": 5},
        {"text": "hi", "extra": 1},
        {"text": "x" * 4097},
    ],
)
async def test_malformed_message_bodies_change_nothing(
    customer: Customer, http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    await customer.start()
    url = f"{customer.base}/v1/conversations/{customer.id}/messages"
    response = await http.post(url, json=body, headers=customer.auth)
    assert_error(response, 422, "validation")
    assert (await snapshot(http, customer))["last_seq"] == 0


async def test_invalid_json_body(customer: Customer, http: httpx.AsyncClient) -> None:
    await customer.start()
    url = f"{customer.base}/v1/conversations/{customer.id}/messages"
    response = await http.post(
        url, content=b"{", headers={**customer.auth, "content-type": "application/json"}
    )
    assert_error(response, 400, "bad_request")


async def test_bad_last_event_id(customer: Customer, http: httpx.AsyncClient) -> None:
    await customer.start()
    url = f"{customer.base}/v1/conversations/{customer.id}/events"
    response = await http.get(url, headers={**customer.auth, "last-event-id": "abc"})
    assert_error(response, 400, "bad_request")


async def test_openapi_describes_the_customer_api(http: httpx.AsyncClient, stack: Stack) -> None:
    spec = (await http.get(f"{stack.bridge_url}/openapi.json")).json()
    assert {"/v1/conversations", "/v1/conversations/{conversation_id}/messages"} <= set(spec["paths"])
    assert "/v1/conversations/{conversation_id}/events" in spec["paths"]
