"""Dialogflow ES queryResult → BotTurn."""

from __future__ import annotations

from livehandoff.domain.model import BotReply
from livehandoff.integrations.dialogflow.translate import turn_from_query_result

HANDOFF_RESULT = {
    "queryText": "can I talk to a human",
    "action": "handoff.request",
    "parameters": {"department": "billing"},
    "fulfillmentText": "Connecting you to an agent.",
    "fulfillmentMessages": [
        {"text": {"text": ["Connecting you to an agent."]}},
        {"payload": {"action": "handoff"}},
        {"text": {"text": ["Slack only"]}, "platform": "SLACK"},
    ],
    "intent": {
        "name": "projects/acme/agent/intents/1b2c",
        "displayName": "human.handoff",
        "liveAgentHandoff": True,
        "endInteraction": False,
    },
    "languageCode": "en",
}


def test_handoff_result() -> None:
    turn = turn_from_query_result(HANDOFF_RESULT)
    assert turn.replies == (BotReply("Connecting you to an agent."),)
    assert turn.intent == "human.handoff"
    assert turn.action == "handoff.request"
    assert turn.live_agent_handoff is True
    assert turn.payloads == ({"action": "handoff"},)
    assert turn.parameters == {"department": "billing"}


def test_quick_replies_attach_to_the_text_before_them() -> None:
    turn = turn_from_query_result(
        {
            "fulfillmentMessages": [
                {"text": {"text": ["How can I help?"]}},
                {"quickReplies": {"quickReplies": ["Shipping", "Talk to a person"]}},
            ]
        }
    )
    assert turn.replies == (BotReply("How can I help?", ("Shipping", "Talk to a person")),)


def test_quick_replies_with_a_title_stand_alone() -> None:
    turn = turn_from_query_result(
        {"fulfillmentMessages": [{"quickReplies": {"title": "Pick", "quickReplies": ["a"]}}]}
    )
    assert turn.replies == (BotReply("Pick", ("a",)),)


def test_cards_become_text_with_buttons() -> None:
    turn = turn_from_query_result(
        {
            "fulfillmentMessages": [
                {"card": {"title": "Returns", "subtitle": "30 days", "buttons": [{"text": "Start"}]}}
            ]
        }
    )
    assert turn.replies == (BotReply("Returns\n30 days", ("Start",)),)


def test_fulfillment_text_is_used_when_there_are_no_messages() -> None:
    turn = turn_from_query_result({"fulfillmentText": "Hi", "intent": {"isFallback": True}})
    assert turn.replies == (BotReply("Hi"),)
    assert turn.is_fallback is True


def test_empty_result() -> None:
    turn = turn_from_query_result({})
    assert turn.replies == ()
    assert turn.intent == ""
