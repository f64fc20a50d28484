"""Pure translation: handoff requests to LiveChat bodies, webhook payloads to desk events."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from livehandoff.domain.model import (
    AgentJoined,
    AgentMessage,
    Author,
    ChatEnded,
    CustomerProfile,
    HandoffRequest,
    TranscriptLine,
)
from livehandoff.errors import InvalidInput
from livehandoff.integrations.livechat import translate, wire

from .conftest import load

AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
LIMIT = translate.MAX_EVENT_TEXT_BYTES


def request(*lines: TranscriptLine, **changes: Any) -> HandoffRequest:
    values: dict[str, Any] = {
        "conversation_id": "conv-1",
        "bot_session_id": "df-session-1",
        "language": "en",
        "reason": "customer asked for a human",
        "customer": CustomerProfile(name="Jane Doe", email="jane@example.com"),
        "transcript": lines,
        "page_url": "https://shop.example.com/checkout",
    }
    values.update(changes)
    return HandoffRequest(**values)


def line(author: Author, text: str, name: str | None = None) -> TranscriptLine:
    return TranscriptLine(author=author, text=text, at=AT, name=name)


def no_whitespace(text: str) -> str:
    return "".join(text.split())


# --- customer ----------------------------------------------------------------------------------


def test_customer_update_carries_profile_and_session_fields() -> None:
    assert translate.customer_update(request()) == {
        "name": "Jane Doe",
        "email": "jane@example.com",
        "session_fields": [
            {"livehandoff_conversation": "conv-1"},
            {"dialogflow_session": "df-session-1"},
            {"language": "en"},
            {"handoff_reason": "customer asked for a human"},
            {"page_url": "https://shop.example.com/checkout"},
        ],
    }


def test_unknown_profile_and_page_are_left_out() -> None:
    body = translate.customer_update(request(customer=CustomerProfile(), page_url=None, reason=""))

    assert body == {
        "session_fields": [
            {"livehandoff_conversation": "conv-1"},
            {"dialogflow_session": "df-session-1"},
            {"language": "en"},
        ]
    }


# --- transcript --------------------------------------------------------------------------------


def test_empty_transcript_gives_no_events() -> None:
    assert translate.transcript_events(request()) == []


def test_short_transcript_is_one_message_event() -> None:
    events = translate.transcript_events(
        request(
            line(Author.CUSTOMER, "Where is my order?"),
            line(Author.BOT, "Let me check. Your order number?"),
            line(Author.CUSTOMER, "I want a human"),
            line(Author.AGENT, "Earlier chat", name="Anna"),
            line(Author.SYSTEM, "Customer was handed back to the bot"),
        )
    )

    assert events == [
        {
            "type": "message",
            "text": "Conversation with the bot before the handoff (reason: customer asked for a human)\n"
            "Customer: Where is my order?\n"
            "Bot: Let me check. Your order number?\n"
            "Customer: I want a human\n"
            "Agent (Anna): Earlier chat\n"
            "System: Customer was handed back to the bot",
            "custom_id": "livehandoff:transcript",
        }
    ]


def test_heading_without_reason() -> None:
    text = translate.transcript_text(request(line(Author.CUSTOMER, "hi"), reason=""))

    assert text == "Conversation with the bot before the handoff\nCustomer: hi"


def test_long_transcript_is_split_between_lines_in_order() -> None:
    lines = [line(Author.CUSTOMER if i % 2 else Author.BOT, f"message {i} " + "é" * 300) for i in range(200)]
    req = request(*lines)

    events = translate.transcript_events(req)

    texts = [event["text"] for event in events]
    assert len(texts) > 3
    assert all(len(text.encode()) <= LIMIT < 16 * 1024 for text in texts)
    assert "\n".join(texts) == translate.transcript_text(req)
    assert all(not text.startswith("\n") and not text.endswith("\n") for text in texts)


def test_a_single_huge_line_is_split_without_losing_anything() -> None:
    huge = "😀ab€" * 20_000  # 9 bytes per repetition, no whitespace at all
    req = request(line(Author.CUSTOMER, "short"), line(Author.BOT, huge), line(Author.CUSTOMER, "after"))

    events = translate.transcript_events(req)

    texts = [event["text"] for event in events]
    assert all(len(text.encode()) <= LIMIT for text in texts)
    assert no_whitespace("".join(texts)) == no_whitespace(translate.transcript_text(req))
    assert texts[-1].endswith("Customer: after")


def test_a_huge_line_with_words_is_cut_at_spaces() -> None:
    words = " ".join(f"word{i}" for i in range(10_000))

    pieces = translate.split_text(words, 1000)

    assert "".join(pieces) == words
    assert all(piece.endswith(" ") for piece in pieces[:-1])
    assert all(len(piece.encode()) <= 1000 for piece in pieces)


@pytest.mark.parametrize("seed", range(20))
def test_split_text_is_lossless_and_fits(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = ["a", "b", " ", "\n", "é", "€", "😀", "\t", "z"]
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5000)))
    max_bytes = rng.randint(4, 600)

    pieces = translate.split_text(text, max_bytes)

    assert "".join(pieces) == text
    assert all(0 < len(piece.encode()) <= max_bytes for piece in pieces)


def test_split_text_needs_room_for_a_character() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        translate.split_text("abc", 3)


def test_message_events_drop_blank_pieces() -> None:
    assert translate.message_events("  \n\n  ") == []
    assert translate.message_events("hi") == [{"type": "message", "text": "hi"}]


# --- chat requests -----------------------------------------------------------------------------

EVENTS: list[wire.MessageEvent] = [{"type": "message", "text": "Conversation..."}]


def test_start_chat_request_routes_to_the_group_with_the_transcript() -> None:
    assert translate.start_chat_request(3, EVENTS) == {
        "chat": {"access": {"group_ids": [3]}, "thread": {"events": EVENTS}}
    }
    assert translate.start_chat_request(0, []) == {"chat": {"access": {"group_ids": [0]}}}


def test_resume_chat_request_names_the_chat() -> None:
    assert translate.resume_chat_request("PJ0MRSHTDG", 3, EVENTS) == {
        "chat": {"id": "PJ0MRSHTDG", "access": {"group_ids": [3]}, "thread": {"events": EVENTS}}
    }


def test_existing_chat_prefers_the_target_group() -> None:
    chats = wire.ListChatsResponse.model_validate(
        {
            "chats_summary": [
                {"id": "OTHERGROUP", "access": {"group_ids": [7]}},
                {"id": "PJ0MRSHTDG", "last_thread_id": "K600PKZON8", "access": {"group_ids": [2]}},
            ]
        }
    )

    assert translate.existing_chat(chats, 2) == chats.chats_summary[1]
    assert translate.existing_chat(chats, 9) == chats.chats_summary[0]
    assert translate.existing_chat(wire.ListChatsResponse(), 2) is None


def test_agent_name_comes_from_the_chat_users() -> None:
    chat = wire.Chat.model_validate(load("get_chat"))

    assert translate.agent_name(chat, "smith@example.com") == "Agent Smith"
    assert translate.agent_name(chat, "bf18d1a8-1afe-4a3e-4cc0-a3148f1143db") is None
    assert translate.agent_name(chat, "nobody@example.com") is None


# --- webhook payloads --------------------------------------------------------------------------


def payload(name: str) -> tuple[str, dict[str, Any]]:
    envelope = load(f"webhooks/{name}")
    return envelope["action"], envelope["payload"]


def test_agent_message_is_translated() -> None:
    event = translate.desk_event(*payload("incoming_event_message"))

    assert event == AgentMessage(
        chat_id="PJ0MRSHTDG",
        event_id="Q298LUVPRH_1",
        agent_id="smith@example.com",
        text="Hello, I'm Agent Smith. How can I help?",
        created_at=datetime(2019, 12, 17, 7, 57, 41, 512000, tzinfo=UTC),
    )


def test_agent_message_time_is_normalised_to_utc() -> None:
    action, body = payload("incoming_event_message")
    body["event"]["created_at"] = "2019-12-17T09:57:41.512000+02:00"

    event = translate.desk_event(action, body)

    assert isinstance(event, AgentMessage)
    assert event.created_at == datetime(2019, 12, 17, 7, 57, 41, 512000, tzinfo=UTC)
    assert event.created_at.tzinfo is UTC


@pytest.mark.parametrize(
    "name",
    [
        "incoming_event_system_message",
        "incoming_event_internal_note",
        "user_added_to_chat_customer",
        "user_added_to_chat_supervisor",
        "incoming_chat",
    ],
)
def test_events_the_customer_must_not_see_are_ignored(name: str) -> None:
    assert translate.desk_event(*payload(name)) is None


def test_agent_joining_is_translated() -> None:
    assert translate.desk_event(*payload("user_added_to_chat_agent")) == AgentJoined(
        chat_id="PJ0MRSHTDG", thread_id="K600PKZON8", agent_id="smith@example.com", agent_name="Agent Smith"
    )


def test_agent_without_name_or_thread() -> None:
    action, body = payload("user_added_to_chat_agent")
    del body["user"]["name"], body["thread_id"]

    assert translate.desk_event(action, body) == AgentJoined(
        chat_id="PJ0MRSHTDG", thread_id="", agent_id="smith@example.com", agent_name=""
    )


@pytest.mark.parametrize(
    ("name", "closed_by"),
    [("chat_deactivated_by_agent", "smith@example.com"), ("chat_deactivated_by_router", None)],
)
def test_chat_end_is_translated(name: str, closed_by: str | None) -> None:
    assert translate.desk_event(*payload(name)) == ChatEnded(
        chat_id="PJ0MRSHTDG", thread_id="K600PKZON8", closed_by=closed_by
    )


@pytest.mark.parametrize(
    ("name", "breaks", "complaint"),
    [
        ("incoming_event_message", lambda body: body.pop("chat_id"), "chat_id"),
        ("incoming_event_message", lambda body: body["event"].pop("text"), "needs author_id, text"),
        ("incoming_event_message", lambda body: body["event"].pop("author_id"), "needs author_id, text"),
        (
            "incoming_event_message",
            lambda body: body["event"].update(created_at="2019-12-17T07:57:41"),
            "created_at",
        ),
        ("incoming_event_message", lambda body: body.update(event="text"), "event"),
        ("user_added_to_chat_agent", lambda body: body["user"].pop("id"), "user.id"),
        ("chat_deactivated_by_agent", lambda body: body.pop("thread_id"), "thread_id"),
    ],
)
def test_invalid_payloads_are_invalid_input(name: str, breaks: Any, complaint: str) -> None:
    action, body = payload(name)
    breaks(body)

    with pytest.raises(InvalidInput, match=complaint) as caught:
        translate.desk_event(action, body)

    assert "How can I help" not in str(caught.value)
    assert action in str(caught.value)
