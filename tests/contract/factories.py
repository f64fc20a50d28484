"""Conversations and events for the contract tests."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

from livehandoff.domain.model import Conversation, CustomerProfile, NewEvent, State

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
        desk_customer_id="lc-customer-1",
        desk_chat_id="CHAT1",
        agent_id="agent@example.com",
        agent_name="Ana",
        handoff_reason="customer asked for a human",
        handoff_started_at=datetime(2025, 1, 2, 3, 5, 0, 999999, tzinfo=timezone(timedelta(hours=9))),
        handoff_ended_at=datetime(2025, 1, 2, 3, 25, 0, tzinfo=timezone(timedelta(hours=-5))),
        desk_continuous=True,
        queue_position=3,
        desk_cursor={"thread_id": "T1", "upto": 4, "beyond": [6]},
        fallback_streak=2,
        delivered_seq=4,
        bot_memory={"contexts": [{"name": "projects/p/agent/sessions/s/contexts/order", "lifespanCount": 3}]},
    )


def message(text: str) -> NewEvent:
    return NewEvent(type="message", data={"author": "customer", "text": text})
