"""Conversations and events for the contract tests."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

from livehandoff.domain import feed
from livehandoff.domain.feed import FeedEvent
from livehandoff.domain.model import Agent, Author, Conversation, CustomerProfile, DeskChat, Handoff, State
from livehandoff.domain.ordering import ThreadCursor

CREATED = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=-5)))


def bare(conversation_id: str = "conv-1", **changes: Any) -> Conversation:
    """A new conversation with only the required fields."""
    conversation = Conversation(
        id=conversation_id,
        token_hash="sha256:0f1e",
        state=State.BOT,
        language="en",
        bot_session_id=f"session-{conversation_id}",
        created_at=CREATED,
    )
    return dataclasses.replace(conversation, **changes)


def full(conversation_id: str = "conv-1") -> Conversation:
    """A conversation with every field set, several to awkward values."""
    return bare(
        conversation_id,
        state=State.AGENT,
        language="pt-BR",
        customer=CustomerProfile(name="Zoë Ångström 山田", email="zoe@example.com"),
        page_url="https://shop.example.com/cart?item=42&ref=ü",
        handoff=Handoff(
            "customer asked for a human",
            started_at=datetime(2025, 1, 2, 3, 5, 0, 999999, tzinfo=timezone(timedelta(hours=9))),
            ended_at=datetime(2025, 1, 2, 3, 25, 0, tzinfo=timezone(timedelta(hours=-5))),
        ),
        chat=DeskChat(
            customer_id="lc-customer-1",
            chat_id="CHAT1",
            continuous=True,
            cursor=ThreadCursor("T1", 4, frozenset({6, 9})),
            agent=Agent("agent@example.com", "Ana"),
            queue_position=3,
        ),
        fallback_streak=2,
        delivered_seq=4,
        bot_memory={"contexts": [{"name": "projects/p/agent/sessions/s/contexts/order", "lifespanCount": 3}]},
    )


def chat(chat_id: str, *, agent: str | None = None) -> DeskChat:
    """A desk chat of the customer ``lc-customer-1``, with ``agent`` talking if given."""
    return DeskChat("lc-customer-1", chat_id, agent=None if agent is None else Agent(agent, agent))


def message(text: str) -> feed.Message:
    return feed.Message(Author.CUSTOMER, text)


def texts(events: list[FeedEvent]) -> list[str]:
    """The texts of the messages among ``events``."""
    return [event.payload.text for event in events if isinstance(event.payload, feed.Message)]
