"""Hypothesis strategies for outside input: JSON of any shape, and JSON shaped like what each platform sends.

The shaped strategies draw keys from the names a parser looks for, so generated documents get past the
first checks and reach the code behind them, while values stay arbitrary JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)


def json_values(keys: Iterable[str] = ()) -> st.SearchStrategy[Any]:
    """Any JSON value; object keys are mostly from ``keys`` when given."""
    names = list(keys)
    key = st.sampled_from(names) | st.text(max_size=12) if names else st.text(max_size=12)
    return st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(key, inner, max_size=5),
        max_leaves=20,
    )


def objects(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with any subset of ``fields``."""
    return st.fixed_dictionaries({}, optional=fields)


def text_or_any(*choices: str) -> st.SearchStrategy[Any]:
    """One of ``choices`` mostly, else any JSON value."""
    return st.sampled_from(choices) | json_values() if choices else json_values()


TIMESTAMPS = st.sampled_from(["2026-11-27T10:00:00.000000Z", "2026-11-27T10:00:00", "yesterday", ""])

# --- LiveChat webhooks (reference §5) ---------------------------------------------------------------

LIVECHAT_KEYS = (
    "chat_id", "thread_id", "event", "id", "type", "text", "author_id", "created_at", "visibility",
    "recipients", "user", "name", "present", "user_id", "chat", "thread", "events", "users",
)  # fmt: skip

LIVECHAT_EVENT = objects(
    {
        "id": text_or_any("E1"),
        "type": text_or_any("message", "system_message", "file"),
        "text": text_or_any("hi"),
        "author_id": text_or_any("anna@example.com"),
        "created_at": TIMESTAMPS | json_values(),
        "visibility": text_or_any("all", "agents"),
        "recipients": text_or_any("all", "agents"),
    }
)
LIVECHAT_USER = objects(
    {
        "id": text_or_any("anna@example.com"),
        "type": text_or_any("agent", "customer"),
        "name": text_or_any("Anna"),
        "visibility": text_or_any("all", "agents"),
    }
)
LIVECHAT_PAYLOAD = objects(
    {
        "chat_id": text_or_any("C1"),
        "thread_id": text_or_any("T1"),
        "event": LIVECHAT_EVENT | json_values(LIVECHAT_KEYS),
        "user": LIVECHAT_USER | json_values(LIVECHAT_KEYS),
        "user_id": text_or_any("anna@example.com"),
    }
) | json_values(LIVECHAT_KEYS)


def livechat_envelopes(secret: str) -> st.SearchStrategy[dict[str, Any]]:
    """Webhook bodies carrying ``secret``, with any of the envelope's fields."""
    return objects(
        {
            "webhook_id": text_or_any("w1"),
            "action": text_or_any(
                "incoming_event", "user_added_to_chat", "chat_deactivated", "incoming_chat"
            ),
            "organization_id": text_or_any("org"),
            "payload": LIVECHAT_PAYLOAD,
            "additional_data": json_values(),
        }
    ).map(lambda document: {**document, "secret_key": secret})


# --- Dialogflow fulfillment webhooks -----------------------------------------------------------------

PAYLOAD_KEYS = (
    "livehandoff", "handoff", "quick_replies", "richContent", "type", "options", "text", "action",
    "group", "reason", "human", "agent", "live_agent", "chips",
)  # fmt: skip
PAYLOADS = json_values(PAYLOAD_KEYS)
ES_MESSAGE = objects(
    {
        "text": objects({"text": st.lists(st.text(max_size=20), max_size=3)}),
        "payload": st.dictionaries(st.sampled_from(PAYLOAD_KEYS) | st.text(max_size=8), PAYLOADS, max_size=3),
        "quickReplies": objects(
            {"title": st.text(max_size=10), "quickReplies": st.lists(st.text(max_size=10))}
        ),
        "platform": st.sampled_from(["PLATFORM_UNSPECIFIED", "FACEBOOK", "SLACK"]),
    }
)
ES_CONTEXT = objects(
    {
        "name": st.sampled_from(["s/contexts/livehandoff-agent", "s/contexts/__system_counters__", "x"]),
        "lifespanCount": st.integers(min_value=-5, max_value=100),
        "parameters": st.dictionaries(st.text(max_size=8), json_values(), max_size=3),
    }
)
ES_QUERY_RESULT = objects(
    {
        "queryText": st.text(max_size=40),
        "languageCode": text_or_any("en", "de", "pt-BR"),
        "action": st.text(max_size=20),
        "fulfillmentText": st.text(max_size=40),
        "fulfillmentMessages": st.lists(ES_MESSAGE, max_size=3),
        "outputContexts": st.lists(ES_CONTEXT, max_size=3),
        "parameters": st.dictionaries(st.text(max_size=8), json_values(), max_size=3),
        "intent": objects(
            {
                "displayName": text_or_any("human.handoff", "Default Fallback Intent", "faq"),
                "liveAgentHandoff": st.booleans(),
                "endInteraction": st.booleans(),
                "isFallback": st.booleans(),
            }
        ),
    }
)
ES_REQUESTS = objects(
    {
        "session": st.sampled_from(["projects/p/agent/sessions/s1", "", "x"]) | st.text(max_size=30),
        "responseId": st.text(max_size=10),
        "queryResult": ES_QUERY_RESULT | json_values(),
        "originalDetectIntentRequest": json_values(),
    }
)

CX_MESSAGE = objects(
    {
        "text": objects({"text": st.lists(st.text(max_size=20), max_size=3)}),
        "payload": st.dictionaries(st.sampled_from(PAYLOAD_KEYS) | st.text(max_size=8), PAYLOADS, max_size=3),
        "liveAgentHandoff": objects({"metadata": st.dictionaries(st.text(max_size=8), json_values())}),
        "endInteraction": st.just({}),
        "channel": st.sampled_from(["", "voice"]),
    }
)
CX_REQUESTS = objects(
    {
        "detectIntentResponseId": st.text(max_size=10),
        "languageCode": text_or_any("en", "de"),
        "text": st.text(max_size=40),
        "transcript": st.text(max_size=40),
        "intentInfo": objects({"displayName": text_or_any("handoff", "faq"), "confidence": st.floats(0, 1)}),
        "sessionInfo": objects(
            {
                "session": st.sampled_from(["projects/p/locations/global/agents/a/sessions/s1", ""]),
                "parameters": st.dictionaries(st.text(max_size=8), json_values(), max_size=3),
            }
        ),
        "messages": st.lists(CX_MESSAGE, max_size=3),
        "payload": json_values(),
    }
)

# --- the customer API ----------------------------------------------------------------------------------

CUSTOMER_KEYS = ("language", "customer", "page_url", "name", "email", "text", "seq")
CONVERSATION_BODIES = objects(
    {
        "language": text_or_any("en", "de", "pt-BR", "english please"),
        "customer": objects(
            {"name": text_or_any("Jo", ""), "email": text_or_any("jo@example.com", "not-an-email")}
        )
        | json_values(CUSTOMER_KEYS),
        "page_url": text_or_any("https://shop.example/help", "javascript:alert(1)"),
    }
) | json_values(CUSTOMER_KEYS)
MESSAGE_BODIES = objects({"text": st.text(max_size=60) | json_values()}) | json_values(CUSTOMER_KEYS)
