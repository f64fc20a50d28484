"""Text from LiveChat and Dialogflow reaches the domain without NUL characters (U+0000).

PostgreSQL cannot store NUL in text columns; the rule (docs/api.md) is the same on SQLite: the customer
API refuses NUL, and the integrations remove it from what the platforms send.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from google.cloud.dialogflow_v2.types import Intent, QueryResult, WebhookRequest

from livehandoff.domain.model import AgentJoined, AgentMessage, BotReply
from livehandoff.integrations.dialogflow.fulfillment import parse_cx, parse_es
from livehandoff.integrations.dialogflow.translate import turn_from_query_result
from livehandoff.integrations.dialogflow.translate_cx import turn_from_cx_query_result
from livehandoff.integrations.livechat import translate, wire
from tests.unit.integrations.livechat.conftest import load

NUL = "\x00"


def with_nul(text: str) -> str:
    return f"{NUL}{text[:2]}{NUL}{text[2:]}{NUL}"


def webhook_payload(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(load(f"webhooks/{name}")["payload"])
    return payload


def test_an_agent_message_loses_its_nul_characters() -> None:
    payload = webhook_payload("incoming_event_message")
    payload["chat_id"] = with_nul("PJ0MRSHTDG")
    payload["event"].update(
        id=with_nul("Q298LUVPRH_1"), text=with_nul("Hello"), author_id=with_nul("smith@x.com")
    )
    update = translate.desk_event("incoming_event", payload)
    assert isinstance(update, AgentMessage)
    assert (update.chat_id, update.event_id, update.text, update.agent_id) == (
        "PJ0MRSHTDG",
        "Q298LUVPRH_1",
        "Hello",
        "smith@x.com",
    )


def test_a_message_of_nul_characters_only_is_ignored() -> None:
    payload = webhook_payload("incoming_event_message")
    payload["event"]["text"] = NUL * 3
    assert translate.desk_event("incoming_event", payload) is None


def test_an_agent_name_loses_its_nul_characters() -> None:
    payload = webhook_payload("user_added_to_chat_agent")
    payload["user"]["name"] = with_nul("Agent Smith")
    update = translate.desk_event("user_added_to_chat", payload)
    assert isinstance(update, AgentJoined)
    assert update.agent_name == "Agent Smith"


def test_a_thread_read_loses_its_nul_characters() -> None:
    chat_json = load("get_chat")
    chat_json["thread"]["events"][0]["text"] = with_nul("Hello")
    chat_json["thread"]["events"][0]["custom_id"] = with_nul("msg_1")
    chat_json["users"][1]["name"] = with_nul("Agent Smith")
    chat = wire.Chat.model_validate(chat_json)
    assert chat.thread is not None
    event = chat.thread.events[0]
    assert (event.text, event.custom_id) == ("Hello", "msg_1")
    assert translate.agent_name(chat, "smith@example.com") == "Agent Smith"


def test_responses_lose_nul_in_lists_of_strings_too() -> None:
    started = wire.StartChatResponse.model_validate(
        {"chat_id": with_nul("PJ0MRSHTDG"), "thread_id": "T", "event_ids": [with_nul("T_1")]}
    )
    assert (started.chat_id, started.event_ids) == ("PJ0MRSHTDG", ["T_1"])


ES_RESULT: dict[str, Any] = {
    "queryText": with_nul("talk to a human"),
    "action": with_nul("handoff.request"),
    "parameters": {with_nul("department"): with_nul("billing"), "nested": [{"k": with_nul("v")}]},
    "fulfillmentMessages": [
        {"text": {"text": [with_nul("Connecting you.")]}},
        {"quickReplies": {"quickReplies": [with_nul("Yes"), with_nul("No")]}},
        {"payload": {"livehandoff": {"handoff": True, "reason": with_nul("billing question")}}},
    ],
    "intent": {"displayName": with_nul("human.handoff"), "liveAgentHandoff": True},
    "outputContexts": [{"name": with_nul("projects/p/agent/sessions/s/contexts/order"), "lifespanCount": 2}],
}


def test_an_es_turn_loses_its_nul_characters() -> None:
    turn = turn_from_query_result(ES_RESULT)
    assert turn.replies == (BotReply("Connecting you.", ("Yes", "No")),)
    assert (turn.intent, turn.action) == ("human.handoff", "handoff.request")
    assert turn.parameters == {"department": "billing", "nested": [{"k": "v"}]}
    assert turn.payloads == ({"livehandoff": {"handoff": True, "reason": "billing question"}},)
    assert NUL not in json.dumps(turn.memory)


def test_a_cx_turn_loses_its_nul_characters() -> None:
    result = {
        "responseMessages": [
            {"text": {"text": [with_nul("One moment.")]}},
            {"payload": {"quick_replies": [with_nul("Cancel")]}},
            {"liveAgentHandoff": {"metadata": {with_nul("group"): with_nul("Billing")}}},
        ],
        "match": {"intent": {"displayName": with_nul("agent")}},
        "parameters": {"order": with_nul("A-1")},
    }
    turn = turn_from_cx_query_result(result)
    assert turn.replies == (BotReply("One moment.", ("Cancel",)),)
    assert turn.intent == "agent"
    assert turn.handoff_metadata == {"group": "Billing"}
    assert turn.parameters == {"order": "A-1"}


def test_a_fulfillment_request_loses_its_nul_characters() -> None:
    result = QueryResult(
        query_text=with_nul("hello"), language_code="en", intent=Intent(display_name=with_nul("greet"))
    )
    body = WebhookRequest.to_json(
        WebhookRequest(session=with_nul("projects/p/agent/sessions/s1"), query_result=result)
    )
    turn, query_result = parse_es(body.encode())
    assert (turn.session, turn.text, turn.turn.intent) == ("projects/p/agent/sessions/s1", "hello", "greet")
    assert NUL not in json.dumps(query_result)

    cx = json.dumps(
        {
            "sessionInfo": {"session": with_nul("projects/p/locations/l/agents/a/sessions/s2")},
            "text": with_nul("hi"),
        }
    )
    cx_turn = parse_cx(cx.encode())
    assert (cx_turn.session, cx_turn.text) == ("projects/p/locations/l/agents/a/sessions/s2", "hi")
