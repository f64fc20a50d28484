"""Gateway mode with Dialogflow CX: the bridge calls the v3 detectIntent of the CX emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from livehandoff.devstack import Stack, run_stack
from tests.scenarios.conftest import Agent, Customer


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with run_stack(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bridge.sqlite3'}", edition="cx"
    ) as running:
        yield running


async def test_cx_conversation_hands_off_with_metadata_and_returns(
    customer: Customer, agent: Agent, stack: Stack, http: httpx.AsyncClient
) -> None:
    assert stack.settings.dialogflow_edition == "cx"
    await customer.start()
    await customer.say("hello")
    await customer.wait_for(lambda e: e["type"] == "message" and e["author"] == "bot", "CX greeting")

    await customer.say("talk to a person")
    requested = await customer.wait_for(lambda e: e["type"] == "handoff_requested", "handoff")
    assert requested["trigger"] == "live_agent_handoff"
    await customer.wait_for(lambda e: e["type"] == "agent_joined", "agent joined")
    (chat,) = await agent.chats()
    details = await agent.chat(chat["id"])
    customer_user = next(user for user in details["users"] if user["type"] == "customer")
    fields = {k: v for field in customer_user["session_fields"] for k, v in field.items()}
    assert fields["bot_reason"] == "customer asked"
    assert fields["handoff_reason"] == "intent human.handoff asked for a live agent"
    assert fields["handoff_trigger"] == "live_agent_handoff"
    assert chat["access"]["group_ids"] == [0]

    await agent.say(chat["id"], "Hi from Anna")
    await customer.wait_for(lambda e: e.get("text") == "Hi from Anna", "agent reply")
    await agent.close(chat["id"])
    ended = await customer.wait_for(lambda e: e["type"] == "handoff_ended", "ended")
    welcome = await customer.wait_for(
        lambda e: e["type"] == "message" and e["author"] == "bot" and e["seq"] > ended["seq"], "welcome back"
    )
    assert "Anna" in welcome["text"], "the return event's parameters reached the CX session"
