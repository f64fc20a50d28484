"""When nobody can take the chat: leave a message, leave an e-mail, wait in line, give up waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, NamedTuple

import httpx
import pytest

from livehandoff.devstack import Stack
from tests.scenarios.conftest import FIXTURES, Agent, Customer, StackFactory


class NobodyAvailable(NamedTuple):
    stack: Stack
    agent: Agent
    customer: Customer


NobodyAvailableFactory = Callable[..., AbstractAsyncContextManager[NobodyAvailable]]


@pytest.fixture
def nobody_available(make_stack: StackFactory, http: httpx.AsyncClient) -> NobodyAvailableFactory:
    """A stack whose only agent does not accept chats, and a customer who has started a conversation."""

    @asynccontextmanager
    async def start(**settings: Any) -> AsyncIterator[NobodyAvailable]:
        async with make_stack(**settings) as stack:
            agent = Agent(http, stack)
            await agent.call("set_routing_status", {"status": "not_accepting_chats"})
            customer = Customer(http, stack.bridge_url)
            await customer.start()
            try:
                yield NobodyAvailable(stack, agent, customer)
            finally:
                await customer.stop()

    return start


def event(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["type"] == kind


def system(code: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["type"] == "message" and e.get("code") == code


async def test_leave_a_message_opens_a_chat_that_waits_for_an_agent(
    nobody_available: NobodyAvailableFactory,
) -> None:
    async with nobody_available(handoff_when_offline="leave_message") as (_, agent, customer):
        await customer.say("I want to talk to an agent")
        await customer.wait_for(system("leave_message"), "told to leave a message")
        await customer.wait_for(event("waiting_for_agent"), "a waiting chat is open")
        await customer.say("My order 4711 never arrived")
        (chat,) = await agent.chats()
        await agent.wait_for_text(chat["id"], "My order 4711 never arrived")

        await agent.call("set_routing_status", {"status": "accepting_chats"})
        joined = await customer.wait_for(event("agent_joined"), "an agent takes the chat when back")
        assert joined["agent"] == {"name": "Anna"}


async def test_leave_an_email_for_the_agents(nobody_available: NobodyAvailableFactory) -> None:
    async with nobody_available(handoff_when_offline="ask_email") as (_, agent, customer):
        await customer.say("I want to talk to an agent")
        asked = await customer.wait_for(event("awaiting_email"), "asked for an e-mail")
        assert asked["state"] == "awaiting_email"
        await customer.say("jane@example.com")
        thanks = await customer.wait_for(system("email_thanks"), "thanked")
        assert "jane@example.com" in thanks["text"]
        await customer.wait_for(event("waiting_for_agent"), "left for the agents")
        (chat,) = await agent.chats()
        details = await agent.chat(chat["id"])
        customer_user = next(user for user in details["users"] if user["type"] == "customer")
        assert customer_user["email"] == "jane@example.com"


async def test_anything_but_an_email_goes_back_to_the_bot(nobody_available: NobodyAvailableFactory) -> None:
    async with nobody_available(handoff_when_offline="ask_email") as (_, _, customer):
        await customer.say("I want to talk to an agent")
        await customer.wait_for(event("awaiting_email"), "asked for an e-mail")
        await customer.say("what are your opening hours")
        failed = await customer.wait_for(event("handoff_failed"), "back to the bot")
        await customer.wait_for(
            lambda e: e["type"] == "message" and e["author"] == "bot" and e["seq"] > failed["seq"],
            "bot answers",
        )


async def test_waiting_in_line_shows_the_position_and_gives_up_after_the_maximum_wait(
    make_stack: StackFactory, http: httpx.AsyncClient
) -> None:
    async with make_stack(
        seed_path=FIXTURES / "one_busy_agent.json", handoff_max_wait_seconds=1.5, queue_refresh_seconds=0.2
    ) as stack:
        first, second = Customer(http, stack.bridge_url), Customer(http, stack.bridge_url)
        await first.start()
        await second.start()
        try:
            await first.say("I want to talk to an agent")
            await first.wait_for(event("agent_joined"), "Anna takes the first chat")
            await second.say("I want to talk to an agent")
            place = await second.wait_for(event("queue_position"), "the second customer waits in line")
            assert place["position"] == 1
            failed = await second.wait_for(event("handoff_failed"), "gave up waiting")
            assert failed["reason"] == "no_agent_in_time"
            await second.wait_for(system("wait_expired"), "told in words")
            agent = Agent(http, stack)
            chats = {chat["id"]: chat for chat in await agent.chats()}
            assert sum(chat["last_thread_summary"]["active"] for chat in chats.values()) == 1, (
                "the queued chat closed"
            )
        finally:
            await first.stop()
            await second.stop()


async def test_the_customer_cancels_a_pending_handoff(
    nobody_available: NobodyAvailableFactory, http: httpx.AsyncClient
) -> None:
    async with nobody_available(handoff_when_offline="leave_message") as (stack, agent, customer):
        cancel_url = f"{stack.bridge_url}/v1/conversations/{customer.id}/cancel"
        nothing = await http.post(cancel_url, headers=customer.auth)
        assert nothing.status_code == 409
        assert nothing.json()["error"]["type"] == "conflict"

        await customer.say("I want to talk to an agent")
        await customer.wait_for(event("waiting_for_agent"), "waiting")
        cancelled = await http.post(cancel_url, headers=customer.auth)
        assert cancelled.status_code == 200
        assert cancelled.json() == {"id": customer.id, "state": "ended"}
        await customer.wait_for(event("handoff_cancelled"), "cancelled")
        await customer.wait_for(system("cancelled"), "told in words")
        (chat,) = await agent.chats()
        assert chat["last_thread_summary"]["active"] is False, "the LiveChat chat is closed cleanly"


async def test_saying_cancel_while_waiting_cancels(nobody_available: NobodyAvailableFactory) -> None:
    async with nobody_available(handoff_when_offline="leave_message") as (_, _, customer):
        await customer.say("I want to talk to an agent")
        await customer.wait_for(event("waiting_for_agent"), "waiting")
        await customer.say("cancel")
        await customer.wait_for(event("handoff_cancelled"), "cancelled by a word")
