"""The storage edge: domain values as table rows, and rows back as domain values.

The conversation's desk chat, its handoff and its thread cursor are typed values in the domain; here
they become the flat, nullable columns of ``conversations`` (and JSON where a column holds JSON), and
feed events become a ``type`` and a JSON ``data`` object. Nothing outside ``storage`` sees JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from livehandoff.domain.feed import FeedEvent, payload_from_data
from livehandoff.domain.model import (
    Agent,
    Conversation,
    CustomerProfile,
    DeskChat,
    Handoff,
    OutboxItem,
    State,
)
from livehandoff.domain.ordering import ThreadCursor


def conversation_values(conversation: Conversation) -> dict[str, Any]:
    """The columns a save rewrites; ``id``, ``created_at``, ``version`` and ``last_seq`` are the store's."""
    memory = conversation.bot_memory
    return {
        "token_hash": conversation.token_hash,
        "state": conversation.state.value,
        "language": conversation.language,
        "bot_session_id": conversation.bot_session_id,
        "customer_name": conversation.customer.name,
        "customer_email": conversation.customer.email,
        "page_url": conversation.page_url,
        **_handoff_values(conversation.handoff),
        **_chat_values(conversation.chat),
        "fallback_streak": conversation.fallback_streak,
        "delivered_seq": conversation.delivered_seq,
        "bot_memory": None if memory is None else json_copy(memory),
    }


def _handoff_values(handoff: Handoff | None) -> dict[str, Any]:
    if handoff is None:
        return {"handoff_reason": None, "handoff_started_at": None, "handoff_ended_at": None}
    ended = handoff.ended_at
    return {
        "handoff_reason": handoff.reason,
        "handoff_started_at": utc(handoff.started_at),
        "handoff_ended_at": None if ended is None else utc(ended),
    }


def _chat_values(chat: DeskChat | None) -> dict[str, Any]:
    if chat is None:
        return {
            "desk_customer_id": None,
            "desk_chat_id": None,
            "desk_continuous": False,
            "desk_cursor": None,
            "agent_id": None,
            "agent_name": None,
            "queue_position": None,
        }
    cursor, agent = chat.cursor, chat.agent
    return {
        "desk_customer_id": chat.customer_id,
        "desk_chat_id": chat.chat_id,
        "desk_continuous": chat.continuous,
        "desk_cursor": None if cursor is None else _cursor_json(cursor),
        "agent_id": None if agent is None else agent.id,
        "agent_name": None if agent is None else agent.name,
        "queue_position": chat.queue_position,
    }


def conversation_from_row(row: Row[Any]) -> Conversation:
    return Conversation(
        id=row.id,
        token_hash=row.token_hash,
        state=State(row.state),
        language=row.language,
        bot_session_id=row.bot_session_id,
        created_at=row.created_at,
        customer=CustomerProfile(name=row.customer_name, email=row.customer_email),
        page_url=row.page_url,
        version=row.version,
        last_seq=row.last_seq,
        handoff=_handoff(row),
        chat=_chat(row),
        fallback_streak=row.fallback_streak,
        delivered_seq=row.delivered_seq,
        bot_memory=row.bot_memory,
    )


def _handoff(row: Row[Any]) -> Handoff | None:
    if row.handoff_started_at is None:
        return None
    return Handoff(row.handoff_reason or "", started_at=row.handoff_started_at, ended_at=row.handoff_ended_at)


def _chat(row: Row[Any]) -> DeskChat | None:
    if row.desk_customer_id is None or row.desk_chat_id is None:
        return None
    return DeskChat(
        customer_id=row.desk_customer_id,
        chat_id=row.desk_chat_id,
        continuous=row.desk_continuous,
        cursor=None if row.desk_cursor is None else _cursor(row.desk_cursor),
        agent=None if row.agent_id is None else Agent(row.agent_id, row.agent_name or ""),
        queue_position=row.queue_position,
    )


def _cursor_json(cursor: ThreadCursor) -> dict[str, Any]:
    return {"thread_id": cursor.thread_id, "upto": cursor.upto, "beyond": sorted(cursor.beyond)}


def _cursor(data: Mapping[str, Any]) -> ThreadCursor:
    beyond = frozenset(int(number) for number in data.get("beyond", ()))
    return ThreadCursor(str(data["thread_id"]), int(data["upto"]), beyond)


def feed_event_from_row(row: Row[Any, Any, Any, Any]) -> FeedEvent:
    return FeedEvent(seq=row.seq, payload=payload_from_data(row.type, row.data), created_at=row.created_at)


def outbox_values(item: OutboxItem) -> dict[str, Any]:
    return {
        "conversation_id": item.conversation_id,
        "message_id": item.message_id,
        "text": item.text,
        "created_at": utc(item.created_at),
        "attempts": item.attempts,
        "next_attempt_at": utc(item.next_attempt_at),
        "held": item.held,
    }


def outbox_item_from_row(row: Row[Any]) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        message_id=row.message_id,
        conversation_id=row.conversation_id,
        text=row.text,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        attempts=row.attempts,
        started=row.started_at is not None,
        held=row.held,
    )


def json_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as it will read back: plain JSON (tuples become lists), checked before any write."""
    copied: dict[str, Any] = json.loads(json.dumps(dict(data), ensure_ascii=False, allow_nan=False))
    return copied


def utc(moment: datetime) -> datetime:
    """Checked here, so that a naive time fails as a plain ``ValueError`` rather than a driver error."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a stored time must be timezone-aware, not {moment!r}")
    return moment.astimezone(UTC)
