"""End to end: the ``DialogflowCX`` bot engine against the CX emulator through ``httpx.ASGITransport``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from livehandoff.domain.model import BotReply
from livehandoff.emulators.dialogflow.cx import CxAgent, create_cx_app
from livehandoff.integrations.dialogflow import DialogflowCX
from livehandoff.ports import BotEngine

QUICK_REPLIES = ("Opening hours", "Shipping", "Returns", "Talk to a person")


@pytest.fixture
async def http(demo_agent: CxAgent) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_cx_app(demo_agent))) as client:
        yield client


def engine(http: httpx.AsyncClient, **kwargs: Any) -> BotEngine:
    return DialogflowCX(
        http, endpoint="http://dialogflow-cx.test", project_id="demo", agent_id="demo-agent", **kwargs
    )


async def test_greeting_with_quick_replies(http: httpx.AsyncClient) -> None:
    turn = await engine(http).detect_intent(session_id="c-1", text="hello", language="en")
    assert turn.intent == "Default Welcome Intent"
    [reply] = turn.replies
    assert reply.quick_replies == QUICK_REPLIES
    assert turn.payloads == ()
    assert turn.live_agent_handoff is False


async def test_handoff_with_metadata(http: httpx.AsyncClient) -> None:
    turn = await engine(http).detect_intent(session_id="c-2", text="talk to a human", language="en")
    assert turn.replies == (BotReply("Let me connect you with a person."),)
    assert turn.live_agent_handoff is True
    assert turn.handoff_metadata == {"group": "0", "reason": "customer asked"}
    assert turn.intent == "human.handoff"
    assert turn.parameters == {"handoff_requested": True}


async def test_order_problem_carries_the_order_number(http: httpx.AsyncClient) -> None:
    bot = engine(http, location="europe-west2", environment="prod")
    status = await bot.detect_intent(session_id="c-3", text="where is my order 4711", language="en")
    assert status.intent == "order.status"
    assert status.parameters == {"order_number": 4711.0}
    problem = await bot.detect_intent(session_id="c-3", text="the package is damaged", language="en")
    assert problem.handoff_metadata == {"group": "0", "reason": "order problem", "order_number": 4711.0}


async def test_fallback_and_the_end_of_the_session(http: httpx.AsyncClient) -> None:
    bot = engine(http)
    fallback = await bot.detect_intent(session_id="c-4", text="what's the weather on Mars", language="en")
    assert fallback.is_fallback is True
    assert fallback.intent == "Start Page"
    bye = await bot.detect_intent(session_id="c-4", text="goodbye", language="en")
    assert bye.end_interaction is True
    assert bye.is_fallback is False


async def test_the_return_event_welcomes_back_with_the_agents_name(http: httpx.AsyncClient) -> None:
    bot = engine(http)
    await bot.detect_intent(session_id="c-5", text="talk to a person", language="en")
    turn = await bot.send_event(
        session_id="c-5",
        name="LIVEHANDOFF_ENDED",
        parameters={"ended_by": "agent", "agent_name": "Anna", "duration_seconds": 42},
        language="en",
    )
    assert turn.replies[0].text.startswith("Welcome back! Thanks for chatting with Anna.")
    assert turn.replies[0].quick_replies == QUICK_REPLIES
    assert turn.live_agent_handoff is False
    assert "handoff_requested" not in turn.parameters


async def test_memory_restores_session_parameters_of_an_expired_session(http: httpx.AsyncClient) -> None:
    bot = engine(http)
    before = await bot.detect_intent(session_id="c-6", text="where is my order 4711", language="en")
    assert before.memory == {"parameters": {"order_number": 4711.0}}
    turn = await bot.send_event(
        session_id="c-7", name="LIVEHANDOFF_ENDED", parameters={}, language="en", memory=before.memory
    )
    assert turn.parameters == {"order_number": 4711.0}
    assert turn.replies[0].text == "Welcome back! I'm the bot again — anything else I can help with?"
