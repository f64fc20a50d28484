"""Handoff rules and the transcript that travels with a handoff."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from livehandoff.config import DEFAULT_HANDOFF_NAMES
from livehandoff.domain.handoff import handoff_reason, transcript_since_last_handoff
from livehandoff.domain.model import Author, BotReply, BotTurn, FeedEvent

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def turn(**fields: Any) -> BotTurn:
    return BotTurn(replies=(BotReply("ok"),), **fields)


@pytest.mark.parametrize(
    "fields",
    [
        {"intent": "anything", "live_agent_handoff": True},
        {"intent": "x", "payloads": ({"action": "handoff"},)},
        {"intent": "x", "payloads": ({"web": {"action": "HANDOFF", "team": 2}},)},
        {"intent": "x", "action": "support.live_agent"},
        {"intent": "human.handoff"},
        {"intent": "Human.Handoff"},
    ],
)
def test_handoff_signals(fields: dict[str, Any]) -> None:
    assert handoff_reason(turn(**fields), DEFAULT_HANDOFF_NAMES) is not None


@pytest.mark.parametrize(
    "fields",
    [
        {"intent": "Default Welcome Intent", "action": "input.welcome"},
        {"intent": "x", "payloads": ({"action": "resolve"},)},
        {"intent": "x", "payloads": ({"web": {"deep": {"action": "handoff"}}},)},
        {"intent": "x", "payloads": ({"action": ["handoff"]},)},
        {"intent": "x", "end_interaction": True},
    ],
)
def test_not_handoff(fields: dict[str, Any]) -> None:
    assert handoff_reason(turn(**fields), DEFAULT_HANDOFF_NAMES) is None


def test_configured_names_replace_the_defaults() -> None:
    assert handoff_reason(turn(intent="escalate"), ["escalate"]) is not None
    assert handoff_reason(turn(intent="human.handoff"), ["escalate"]) is None


def test_reason_names_the_intent() -> None:
    reason = handoff_reason(turn(intent="human.handoff", live_agent_handoff=True), DEFAULT_HANDOFF_NAMES)
    assert reason is not None
    assert "human.handoff" in reason


def event(seq: int, kind: str, **data: Any) -> FeedEvent:
    return FeedEvent(seq=seq, type=kind, data=data, created_at=NOW)


def test_transcript_keeps_customer_bot_and_agent_lines_in_order_and_skips_system() -> None:
    events = [
        event(1, "message", author="customer", text="hi", id="m1"),
        event(2, "message", author="bot", text="hello"),
        event(3, "handoff_requested", state="handoff_requested"),
        event(4, "message", author="system", text="Connecting…"),
        event(5, "message", author="agent", text="Hi, Anna here", name="Anna"),
    ]
    lines = transcript_since_last_handoff(events)
    assert [(line.author, line.text) for line in lines] == [
        (Author.CUSTOMER, "hi"),
        (Author.BOT, "hello"),
        (Author.AGENT, "Hi, Anna here"),
    ]
    assert lines[2].name == "Anna"


def test_transcript_starts_after_the_last_ended_agent_chat() -> None:
    events = [
        event(1, "message", author="customer", text="old"),
        event(2, "handoff_ended", state="ended"),
        event(3, "message", author="customer", text="new"),
        event(4, "message", author="bot", text="reply"),
    ]
    assert [line.text for line in transcript_since_last_handoff(events)] == ["new", "reply"]
