"""Dialogflow behaviours end to end: every handoff trigger, the loop guard, routing, the return event,
languages and long messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from livehandoff.devstack import bind
from tests.scenarios.conftest import FIXTURES, Agent, Customer, StackFactory


def dead_endpoint() -> str:
    """A loopback URL nothing listens on: the bot is down."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


async def session_fields(agent: Agent, chat_id: str) -> dict[str, str]:
    chat = await agent.chat(chat_id)
    customer = next(user for user in chat["users"] if user["type"] == "customer")
    return {key: value for field in customer.get("session_fields", []) for key, value in field.items()}


def is_bot(text: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["type"] == "message" and e["author"] == "bot" and (text is None or e["text"] == text)


async def test_live_agent_handoff_flag(customer: Customer, agent: Agent) -> None:
    await customer.start()
    await customer.say("talk to a human")
    requested = await customer.wait_for(lambda e: e["type"] == "handoff_requested", "handoff")
    assert requested["trigger"] == "live_agent_handoff"
    await customer.wait_for(lambda e: e["type"] == "waiting_for_agent", "chat opened")
    (chat,) = await agent.chats()
    fields = await session_fields(agent, chat["id"])
    assert fields["handoff_trigger"] == "live_agent_handoff"
    assert fields["bot_intent"] == "human.handoff"
    assert "human.handoff" in fields["handoff_reason"]


async def test_payload_marker_routes_to_the_named_group(
    make_stack: StackFactory, http: httpx.AsyncClient
) -> None:
    async with make_stack(
        seed_path=FIXTURES / "two_groups.json", livechat_group_names={"billing": 1}
    ) as stack:
        customer = Customer(http, stack.bridge_url)
        await customer.start()
        try:
            await customer.say("talk to billing")
            requested = await customer.wait_for(lambda e: e["type"] == "handoff_requested", "handoff")
            assert requested["trigger"] == "payload"
            joined = await customer.wait_for(lambda e: e["type"] == "agent_joined", "Bob joins")
            assert joined["agent"] == {"name": "Bob"}
            agent = Agent(http, stack)
            (chat,) = await agent.chats()
            assert chat["access"]["group_ids"] == [1]
        finally:
            await customer.stop()


async def test_configured_intent_name(make_stack: StackFactory, http: httpx.AsyncClient) -> None:
    async with make_stack(handoff_names=("faq.returns",)) as stack:
        customer = Customer(http, stack.bridge_url)
        await customer.start()
        try:
            await customer.say("I want a refund")
            requested = await customer.wait_for(lambda e: e["type"] == "handoff_requested", "handoff")
            assert requested["trigger"] == "intent_name"
        finally:
            await customer.stop()


async def test_consecutive_fallbacks(make_stack: StackFactory, http: httpx.AsyncClient) -> None:
    async with make_stack(handoff_after_fallbacks=2) as stack:
        customer = Customer(http, stack.bridge_url)
        await customer.start()
        try:
            await customer.say("zxqv plomb frizzle")
            await customer.wait_for(is_bot(), "first fallback answer")
            assert not any(e["type"] == "handoff_requested" for e in customer.events)
            await customer.say("wubba quorx blent")
            requested = await customer.wait_for(lambda e: e["type"] == "handoff_requested", "handoff")
            assert requested["trigger"] == "fallbacks"
        finally:
            await customer.stop()


async def test_a_failing_bot_apologises_by_default(make_stack: StackFactory, http: httpx.AsyncClient) -> None:
    async with make_stack(dialogflow_api_endpoint=dead_endpoint()) as stack:
        customer = Customer(http, stack.bridge_url)
        await customer.start()
        try:
            await customer.say("hello")
            told = await customer.wait_for(lambda e: e.get("code") == "bot_failed", "apology")
            assert told["author"] == "system"
            assert await Agent(http, stack).chats() == []
        finally:
            await customer.stop()


async def test_a_failing_bot_hands_off_and_the_loop_guard_holds(
    make_stack: StackFactory, http: httpx.AsyncClient
) -> None:
    async with make_stack(dialogflow_api_endpoint=dead_endpoint(), handoff_on_bot_error="handoff") as stack:
        customer = Customer(http, stack.bridge_url)
        agent = Agent(http, stack)
        await customer.start()
        try:
            await customer.say("hello")
            requested = await customer.wait_for(lambda e: e["type"] == "handoff_requested", "handoff")
            assert requested["trigger"] == "bot_error"
            await customer.wait_for(lambda e: e["type"] == "agent_joined", "agent joined")
            (chat,) = await agent.chats()
            await agent.close(chat["id"])
            ended = await customer.wait_for(lambda e: e["type"] == "handoff_ended", "ended")

            await customer.say("are you still there?")
            await customer.wait_for(
                lambda e: e.get("code") == "bot_failed" and e["seq"] > ended["seq"],
                "apology, not a new handoff",
            )
            assert [e["type"] for e in customer.events].count("handoff_requested") == 1
            assert [c["last_thread_summary"]["active"] for c in await agent.chats()] == [False]
        finally:
            await customer.stop()


async def test_the_return_event_reaches_the_bot_with_its_parameters(customer: Customer, agent: Agent) -> None:
    await customer.start()
    await customer.say("I want to talk to an agent")
    await customer.wait_for(lambda e: e["type"] == "agent_joined", "agent joined")
    (chat,) = await agent.chats()
    await agent.close(chat["id"])
    welcome = await customer.wait_for(
        is_bot("Welcome back! I hope Anna could help. I'm the bot again — anything else?"), ""
    )
    assert welcome["quick_replies"]


async def test_a_german_conversation(customer: Customer, agent: Agent) -> None:
    await customer.start(language="de")
    await customer.say("hallo")
    await customer.wait_for(is_bot(), "German greeting")
    await customer.say("ich will mit einem menschen reden")
    await customer.wait_for(is_bot("Ich verbinde dich mit einer Person."), "German handoff answer")
    connecting = await customer.wait_for(lambda e: e.get("code") == "connecting", "system message")
    assert connecting["text"] == "Sie werden mit einem Mitarbeiter verbunden…"
    joined = await customer.wait_for(lambda e: e.get("code") == "agent_joined", "joined")
    assert joined["text"] == "Anna ist dem Chat beigetreten."
    (chat,) = await agent.chats()
    assert (await session_fields(agent, chat["id"]))["language"] == "de"


async def test_long_messages_reach_the_agent_whole_and_the_bot_shortened(
    customer: Customer, agent: Agent
) -> None:
    long_text = "My order " + "is really late " * 30
    assert len(long_text) > 256
    await customer.start()
    await customer.say(long_text)
    await customer.wait_for(is_bot(), "the bot answers a long message instead of refusing it")
    await customer.say("I want to talk to an agent")
    await customer.wait_for(lambda e: e["type"] == "agent_joined", "agent joined")
    (chat,) = await agent.chats()
    await customer.say(long_text)
    await agent.wait_for_text(chat["id"], long_text)
