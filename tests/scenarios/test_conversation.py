"""The core slice end to end: bot → handoff → agent ↔ customer → agent closes → bot again.

Only public surfaces are used: the customer API of the bridge, and the emulator's LiveChat Agent Chat
API as the agent.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from livehandoff.devstack import Stack
from tests.scenarios.conftest import Agent, Customer


def is_message(author: str, text: str | None = None) -> object:
    return lambda e: e["type"] == "message" and e["author"] == author and (text is None or e["text"] == text)


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
async def test_whole_conversation(
    customer: Customer, agent: Agent, http: httpx.AsyncClient, stack: Stack
) -> None:
    await customer.start(language="en", customer={"name": "Jane Doe", "email": "jane@example.com"})

    await customer.say("hello")
    greeting = await customer.wait_for(
        lambda e: e["type"] == "message" and e["author"] == "bot", "bot greeting"
    )
    assert greeting["text"]

    await customer.say("I want to talk to an agent")
    requested = await customer.wait_for(lambda e: e["type"] == "handoff_requested", "handoff requested")
    assert requested["state"] == "handoff_requested"
    joined = await customer.wait_for(lambda e: e["type"] == "agent_joined", "agent joined")
    assert joined["agent"] == {"name": stack.credentials.agent_name}

    chats = await agent.chats()
    assert len(chats) == 1, "exactly one LiveChat chat is opened"
    chat_id = chats[0]["id"]
    chat = await agent.chat(chat_id)
    customer_user = next(user for user in chat["users"] if user["type"] == "customer")
    assert customer_user["name"] == "Jane Doe"
    transcript = "\n".join(e["text"] for e in chat["thread"]["events"] if e["type"] == "message")
    positions = [
        transcript.index("hello"),
        transcript.index(greeting["text"].splitlines()[0]),
        transcript.index("I want to talk to an agent"),
    ]
    assert positions == sorted(positions), "the transcript is in order"

    await agent.say(chat_id, "Hi, Anna here. How can I help?")
    reply = await customer.wait_for(is_message("agent", "Hi, Anna here. How can I help?"), "agent reply")  # type: ignore[arg-type]
    assert reply["name"] == stack.credentials.agent_name

    await customer.say("My parcel is late")
    await agent.wait_for_text(chat_id, "My parcel is late")

    await agent.close(chat_id)
    ended = await customer.wait_for(lambda e: e["type"] == "handoff_ended", "chat ended")
    assert ended["closed_by"] == "agent"
    await customer.wait_for(
        lambda e: e["type"] == "message" and e.get("code") == "ended_by_agent", "customer told"
    )

    welcome = await customer.wait_for(
        lambda e: e["type"] == "message" and e["author"] == "bot" and e["seq"] > ended["seq"],
        "the bot welcomes the customer back",
    )
    assert "Anna" in welcome["text"]
    asked = await customer.say("what are your opening hours")
    question = await customer.wait_for(lambda e: e.get("id") == asked, "the question is recorded")
    await customer.wait_for(
        lambda e: e["type"] == "message" and e["author"] == "bot" and e["seq"] > question["seq"],
        "the bot answers again",
    )

    state = await http.get(f"{stack.bridge_url}/v1/conversations/{customer.id}", headers=customer.auth)
    assert state.status_code == 200
    body = state.json()
    assert body["state"] == "ended"
    assert [m["text"] for m in body["transcript"] if m["author"] == "customer"] == [
        "hello",
        "I want to talk to an agent",
        "My parcel is late",
        "what are your opening hours",
    ]
    assert customer.event_ids == list(range(1, len(customer.event_ids) + 1)), "no gaps, no repeats"
    chats = await agent.chats()
    assert len(chats) == 1


async def test_last_event_id_resumes_without_gaps_or_repeats(
    customer: Customer, http: httpx.AsyncClient, stack: Stack
) -> None:
    await customer.start()
    await customer.say("hello")
    await customer.wait_for(is_message("bot"), "bot answer")  # type: ignore[arg-type]
    await customer.say("what are your opening hours")
    await customer.wait_for(
        lambda e: e["type"] == "message" and e["author"] == "bot" and e["seq"] > 2, "second"
    )
    await asyncio.sleep(0.2)
    everything = list(customer.events)

    resumed = Customer(http, stack.bridge_url)
    resumed.id, resumed.token = customer.id, customer.token
    reader = asyncio.create_task(resumed._read(after=2))
    try:
        async with asyncio.timeout(5):
            await resumed.wait_for(lambda e: e["seq"] == everything[-1]["seq"], "the last event again")
    finally:
        reader.cancel()
    assert resumed.events == everything[2:]


async def test_query_token_opens_the_stream_for_event_source(
    customer: Customer, http: httpx.AsyncClient
) -> None:
    await customer.start()
    await customer.say("hello")
    await customer.wait_for(is_message("bot"), "bot answer")  # type: ignore[arg-type]
    url = f"{customer.base}/v1/conversations/{customer.id}/events"
    async with http.stream("GET", url, params={"token": customer.token}) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                assert '"seq": 1' in line
                break


async def test_offline_group_refuses_the_handoff_and_the_bot_keeps_answering(
    customer: Customer, agent: Agent
) -> None:
    await agent.call("set_routing_status", {"status": "not_accepting_chats"})
    await customer.start()
    await customer.say("I want to talk to an agent")
    failed = await customer.wait_for(lambda e: e["type"] == "handoff_failed", "handoff refused")
    assert failed["state"] == "handoff_failed"
    told = await customer.wait_for(lambda e: e.get("code") == "handoff_offline", "customer told")
    assert told["author"] == "system"

    await customer.say("what are your opening hours")
    await customer.wait_for(
        lambda e: e["type"] == "message" and e["author"] == "bot" and e["seq"] > told["seq"], "bot again"
    )
    assert await agent.chats() == []


async def test_livechat_unreachable_at_the_handoff_is_told_and_the_bot_keeps_answering(
    customer: Customer, agent: Agent, http: httpx.AsyncClient, stack: Stack
) -> None:
    down = {
        "seed": 1,
        "api": {"methods": {"start_chat": {"error_rate": 1.0, "errors": ["service_unavailable"]}}},
    }
    switched = await http.post(f"{stack.livechat_url}/emulator/faults", json=down, auth=agent.auth)
    assert switched.status_code == 200, switched.text
    await customer.start()

    await customer.say("I want to talk to an agent")
    failed = await customer.wait_for(lambda e: e["type"] == "handoff_failed", "handoff failed")
    told = await customer.wait_for(lambda e: e.get("code") == "handoff_failed", "customer told")

    assert failed["state"] == "handoff_failed"
    assert told["author"] == "system"
    assert "couldn't reach an agent" in told["text"]
    await customer.say("what are your opening hours")
    await customer.wait_for(
        lambda e: e["type"] == "message" and e["author"] == "bot" and e["seq"] > told["seq"], "bot again"
    )
    assert await agent.chats() == []


async def test_second_handoff_resumes_the_same_chat(customer: Customer, agent: Agent) -> None:
    await customer.start()
    await customer.say("I want to talk to an agent")
    await customer.wait_for(lambda e: e["type"] == "agent_joined", "agent joined")
    chat_id = (await agent.chats())[0]["id"]
    await agent.close(chat_id)
    ended = await customer.wait_for(lambda e: e["type"] == "handoff_ended", "ended")

    await customer.say("talk to a human")
    second = await customer.wait_for(
        lambda e: e["type"] == "agent_joined" and e["seq"] > ended["seq"], "agent joined the resumed chat"
    )
    assert second["agent"]["name"]
    chats = await agent.chats()
    assert [chat["id"] for chat in chats] == [chat_id], "the returning customer keeps one chat"
    await agent.say(chat_id, "Welcome back")
    await customer.wait_for(is_message("agent", "Welcome back"), "agent message after resume")  # type: ignore[arg-type]
