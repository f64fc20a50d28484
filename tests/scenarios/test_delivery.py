"""Nothing accepted is lost: LiveChat outages are waited out, and the customer is told in the meantime.

The LiveChat emulator's fault switch (``/emulator/faults``) plays the outage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from livehandoff.devstack import Stack
from tests.scenarios.conftest import Agent, Customer

SEND_EVENT_DOWN = {
    "seed": 1,
    "api": {"methods": {"send_event": {"error_rate": 1.0, "errors": ["service_unavailable"]}}},
}


async def faults(
    http: httpx.AsyncClient, stack: Stack, method: str, body: dict[str, Any] | None = None
) -> None:
    response = await http.request(
        method,
        f"{stack.livechat_url}/emulator/faults",
        json=body,
        auth=(stack.credentials.agent_account_id, stack.credentials.agent_pat),
    )
    assert response.status_code == 200, response.text


async def chat_with_the_agent(customer: Customer, agent: Agent) -> dict[str, Any]:
    """The customer asks for a human and the agent joins: the LiveChat chat between them."""
    await customer.start()
    await customer.say("I want to talk to an agent")
    await customer.wait_for(lambda e: e["type"] == "agent_joined", "agent joined")
    (chat,) = await agent.chats()
    return chat


def showing(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event.get("text") == text


pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


async def test_an_outage_queues_messages_in_order_and_delivers_them_later(
    customer: Customer, agent: Agent, http: httpx.AsyncClient, stack: Stack
) -> None:
    chat = await chat_with_the_agent(customer, agent)

    await faults(http, stack, "POST", SEND_EVENT_DOWN)
    first = await customer.say("first, during the outage")
    second = await customer.say("second, during the outage")
    queued = await customer.wait_for(lambda e: e["type"] == "message_queued", "the customer is told")
    assert queued["message_id"] == first

    await faults(http, stack, "DELETE")
    delivered = await customer.wait_for(lambda e: e["type"] == "message_delivered", "delivered later")
    assert delivered["message_id"] == first
    await agent.wait_for_text(chat["id"], "second, during the outage")
    thread = (await agent.chat(chat["id"]))["thread"]["events"]
    relayed = [e["text"] for e in thread if e["type"] == "message" and "outage" in e.get("text", "")]
    assert relayed == ["first, during the outage", "second, during the outage"], "in order, once each"
    assert second != first


WEBHOOKS_SHUFFLED = {
    "seed": 3,
    "webhooks": {"reorder_rate": 0.5, "reorder_hold_ms": 300, "duplicate_rate": 0.3},
}


async def test_agent_messages_reach_the_customer_once_and_in_order_when_webhooks_are_shuffled(
    customer: Customer, agent: Agent, http: httpx.AsyncClient, stack: Stack
) -> None:
    chat = await chat_with_the_agent(customer, agent)

    await faults(http, stack, "POST", WEBHOOKS_SHUFFLED)
    sent = [f"agent line {n}" for n in range(8)]
    for text in sent:
        await agent.say(chat["id"], text)
    await customer.wait_for(lambda e: e.get("text") == sent[-1], "the last line")
    for text in sent:
        await customer.wait_for(showing(text), text)
    await stack.livechat.wait_idle()
    shown = [e["text"] for e in customer.messages("agent")]
    assert shown == sent, "once each, in the order the agent wrote them"
