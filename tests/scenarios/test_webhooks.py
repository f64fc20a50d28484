"""LiveChat webhooks as LiveChat sends them: registration, duplicates, unknown actions."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from livehandoff.devstack import Stack
from tests.scenarios.conftest import Agent, Customer


def envelope(stack: Stack, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "webhook_id": "w-test",
        "secret_key": stack.settings.livechat_webhook_secret.get_secret_value(),
        "action": action,
        "organization_id": stack.credentials.organization_id,
        "payload": payload,
        "additional_data": {},
    }


async def test_serve_registers_its_webhooks_with_filters(
    agent: Agent, http: httpx.AsyncClient, stack: Stack
) -> None:
    response = await http.post(
        f"{stack.livechat_url}/v3.6/configuration/action/list_webhooks",
        json={"owner_client_id": stack.credentials.client_id},
        auth=agent.auth,
    )
    assert response.status_code == 200, response.text
    listed = response.json()
    ours = {hook["action"]: hook for hook in listed if hook["url"] == f"{stack.bridge_url}/webhooks/livechat"}
    assert set(ours) == {"incoming_event", "user_added_to_chat", "chat_deactivated"}
    assert ours["incoming_event"]["filters"]["author_type"] == "agent"
    assert all(hook["filters"]["only_my_chats"] is True for hook in ours.values())
    assert all(hook["type"] == "license" for hook in ours.values())


async def test_a_redelivered_event_reaches_the_customer_once(
    customer: Customer, agent: Agent, http: httpx.AsyncClient, stack: Stack
) -> None:
    await customer.start()
    await customer.say("I want to talk to an agent")
    await customer.wait_for(lambda e: e["type"] == "agent_joined", "agent joined")
    chat_id = (await agent.chats())[0]["id"]
    body = envelope(
        stack,
        "incoming_event",
        {
            "chat_id": chat_id,
            "thread_id": "T",
            "event": {
                "id": "T_500",
                "type": "message",
                "text": "Only once, please",
                "author_id": stack.credentials.agent_account_id,
                "created_at": "2026-11-27T10:00:00.000000Z",
                "visibility": "all",
            },
        },
    )
    first = await http.post(f"{stack.bridge_url}/webhooks/livechat", json=body)
    second = await http.post(f"{stack.bridge_url}/webhooks/livechat", json=body)
    assert first.json() == {"status": "processed"}
    assert second.status_code == 200
    assert second.json() == {"status": "ignored"}
    await customer.wait_for(lambda e: e.get("text") == "Only once, please", "the message")
    await asyncio.sleep(0.2)
    assert [e.get("text") for e in customer.events].count("Only once, please") == 1


async def test_unknown_actions_are_acknowledged(http: httpx.AsyncClient, stack: Stack) -> None:
    body = envelope(stack, "thread_tagged", {"chat_id": "PJ0MRSHTDG", "thread_id": "K600PKZON8", "tag": "x"})
    response = await http.post(f"{stack.bridge_url}/webhooks/livechat", json=body)
    assert response.status_code == 200
    assert response.json() == {"status": "ignored"}
