"""Dialogflow CX queryResult → BotTurn, from fixtures shaped like real CX responses."""

from __future__ import annotations

import pytest

from livehandoff.domain.model import BotReply
from livehandoff.integrations.dialogflow.translate_cx import (
    cx_memory,
    remembered_parameters,
    turn_from_cx_query_result,
)

from .cx_fixtures import cx_response, cx_result, fixture_names

QUICK = ("Opening hours", "Shipping", "Returns", "Talk to a person")


@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_is_a_detect_intent_response(name: str) -> None:
    assert cx_response(name)["queryResult"]


def test_live_agent_handoff_and_its_metadata() -> None:
    turn = turn_from_cx_query_result(cx_result("handoff"))
    assert turn.replies == (BotReply("Let me connect you with a person."),)
    assert turn.live_agent_handoff is True
    assert turn.handoff_metadata == {"group": "2", "reason": "customer asked", "order_number": 4711}
    assert turn.intent == "human.handoff"
    assert turn.action == ""
    assert turn.is_fallback is False
    assert turn.end_interaction is False
    assert turn.payloads == ()
    assert turn.parameters == {"order_number": 4711, "handoff_requested": True}


def test_no_match_is_a_fallback_named_after_the_page() -> None:
    turn = turn_from_cx_query_result(cx_result("no_match"))
    assert turn.is_fallback is True
    assert turn.intent == "Order Status"
    assert turn.live_agent_handoff is False
    assert turn.handoff_metadata == {}
    assert turn.parameters == {}
    assert turn.memory == {}


def test_quick_replies_convention() -> None:
    turn = turn_from_cx_query_result(cx_result("welcome_back"))
    text = "Welcome back! Thanks for chatting with Anna. I'm the bot again — anything else I can help with?"
    assert turn.replies == (BotReply(text, (*QUICK, "Survey")),)
    assert turn.payloads == ({"survey": {"url": "https://example.com/survey"}},)
    assert turn.intent == "Start Page"
    assert turn.parameters["agent_name"] == "Anna"


def test_quick_replies_without_a_reply_before_them_stand_alone() -> None:
    turn = turn_from_cx_query_result({"responseMessages": [{"payload": {"quick_replies": ["a", "", "b"]}}]})
    assert turn.replies == (BotReply("", ("a", "b")),)
    assert turn.payloads == ()


def test_end_interaction_and_several_lines() -> None:
    turn = turn_from_cx_query_result(cx_result("end_session"))
    assert turn.end_interaction is True
    assert turn.replies == (BotReply("Thanks for stopping by."), BotReply("Goodbye!"))
    assert turn.intent == "conversation.goodbye"
    assert turn.payloads == ()


def test_messenger_chips_channels_and_other_payloads() -> None:
    turn = turn_from_cx_query_result(cx_result("messenger"))
    assert turn.replies == (BotReply("Hi! How can I help?", ("Shipping", "Talk to a person")),)
    rich, marker = turn.payloads
    assert "richContent" in rich
    assert marker == {"livehandoff": {"action": "handoff", "group": "Billing"}}
    assert turn.intent == "Default Welcome Intent"


def test_the_deprecated_intent_field_is_a_fallback_name() -> None:
    turn = turn_from_cx_query_result({"intent": {"displayName": "old.style"}})
    assert turn.intent == "old.style"


def test_several_handoff_messages_merge_their_metadata() -> None:
    turn = turn_from_cx_query_result(
        {
            "responseMessages": [
                {"liveAgentHandoff": {"metadata": {"group": "1", "reason": "a"}}},
                {"liveAgentHandoff": {}},
                {"liveAgentHandoff": {"metadata": {"reason": "b"}}},
            ]
        }
    )
    assert turn.live_agent_handoff is True
    assert turn.handoff_metadata == {"group": "1", "reason": "b"}


def test_empty_result() -> None:
    turn = turn_from_cx_query_result({})
    assert turn.replies == ()
    assert turn.intent == ""
    assert turn.live_agent_handoff is False


def test_memory_is_the_session_parameters() -> None:
    memory = cx_memory(cx_result("handoff"))
    assert memory == {"parameters": {"order_number": 4711, "handoff_requested": True}}
    assert turn_from_cx_query_result(cx_result("handoff")).memory == memory
    assert remembered_parameters(memory) == memory["parameters"]
    assert remembered_parameters(None) == {}
    assert remembered_parameters({"contexts": []}) == {}
