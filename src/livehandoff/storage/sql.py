"""``SqlStore``: the ``ConversationStore`` port on SQLAlchemy Core, for SQLite and PostgreSQL alike.

Every save is one transaction that starts with the versioned UPDATE. On PostgreSQL the row lock makes a
racing save wait and then match zero rows; on SQLite the writer takes the database lock at ``BEGIN
IMMEDIATE`` (see ``engine.py``). Either way exactly one of two saves from the same version wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Table, delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import StaticPool

from livehandoff.domain.model import Conversation, CustomerProfile, FeedEvent, NewEvent, OutboxItem, State
from livehandoff.errors import ConcurrentUpdate, ConversationNotFound, DuplicateEvent
from livehandoff.ports import Clock
from livehandoff.storage.engine import WRITE_OPTIONS
from livehandoff.storage.tables import conversations, desk_chats, outbox, parked_desk_events, processed_events
from livehandoff.storage.tables import events as feed_events  # ``events`` names the argument of save()


class UtcClock:
    """The wall clock, in UTC: stamps ``created_at`` of events and ``updated_at`` of conversations."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SqlStore:
    """Conversations, feeds and dedupe keys in SQL. Build it with ``open_store``; ``close()`` it."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock | None = None) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**WRITE_OPTIONS)
        self._clock = clock or UtcClock()
        # A StaticPool hands the same connection to every caller; one SQLite connection holds one
        # transaction, so overlapping calls would commit or roll back each other's work. Take turns.
        self._turns = asyncio.Lock() if isinstance(engine.pool, StaticPool) else None
        # SQLite has one writer at a time. Left to its busy timeout, many writers of one process poll
        # the file lock and give up after a few seconds under load ("database is locked"); queueing
        # them here instead hands the lock on in order, at once.
        self._writers = asyncio.Lock() if engine.dialect.name == "sqlite" and self._turns is None else None

    @property
    def engine(self) -> AsyncEngine:
        """The engine, for health checks and ``current_revision``; the store's own calls go through it."""
        return self._engine

    async def close(self) -> None:
        await self._engine.dispose()

    # --- the port --------------------------------------------------------------------------------

    async def create(self, conversation: Conversation) -> None:
        now = _utc(self._clock.now())
        values = {
            **_mutable_columns(conversation),
            "id": conversation.id,
            "created_at": _utc(conversation.created_at),
            "updated_at": now,
            "version": 0,
            "last_seq": 0,
        }
        insert = self._insert(conversations).values(values).on_conflict_do_nothing(index_elements=["id"])
        async with self._writing() as connection:
            created = (await connection.execute(insert.returning(conversations.c.id))).first()
            if created is None:
                raise ConcurrentUpdate(
                    f"conversation {conversation.id} already exists", conversation_id=conversation.id
                )
            await self._remember_desk_chat(connection, conversation)

    async def load(self, conversation_id: str) -> Conversation:
        query = select(conversations).where(conversations.c.id == conversation_id)
        async with self._reading() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            raise ConversationNotFound(f"no conversation {conversation_id}", conversation_id=conversation_id)
        return _conversation(row)

    async def save(
        self,
        conversation: Conversation,
        events: Sequence[NewEvent],
        *,
        expected_version: int,
        dedupe_key: str | None = None,
        enqueue: Sequence[OutboxItem] = (),
    ) -> list[FeedEvent]:
        now = _utc(self._clock.now())
        payloads = [_json_copy(event.data) for event in events]
        async with self._writing() as connection:
            last_seq = await self._bump(connection, conversation, expected_version, len(events), now)
            first = last_seq - len(events) + 1
            stored = [
                FeedEvent(seq=first + index, type=event.type, data=data, created_at=now)
                for index, (event, data) in enumerate(zip(events, payloads, strict=True))
            ]
            await self._append(connection, conversation.id, stored)
            await self._remember_desk_chat(connection, conversation)
            if dedupe_key is not None:
                await self._record(connection, conversation.id, dedupe_key, now)
            if enqueue:
                await connection.execute(outbox.insert(), [_outbox_row(item) for item in enqueue])
        return stored

    async def events_after(
        self, conversation_id: str, after_seq: int, *, limit: int = 500
    ) -> list[FeedEvent]:
        if limit < 1:
            raise ValueError(f"limit must be positive, not {limit}")
        query = (
            select(feed_events.c.seq, feed_events.c.type, feed_events.c.data, feed_events.c.created_at)
            .where(feed_events.c.conversation_id == conversation_id, feed_events.c.seq > after_seq)
            .order_by(feed_events.c.seq)
            .limit(limit)
        )
        async with self._reading() as connection:
            rows = (await connection.execute(query)).all()
        return [
            FeedEvent(seq=row.seq, type=row.type, data=row.data, created_at=row.created_at) for row in rows
        ]

    async def find_by_desk_chat(self, chat_id: str) -> str | None:
        query = select(desk_chats.c.conversation_id).where(desk_chats.c.chat_id == chat_id)
        async with self._reading() as connection:
            found: str | None = await connection.scalar(query)
        return found

    async def find_by_bot_session(self, session: str) -> str | None:
        query = (
            select(conversations.c.id)
            .where(conversations.c.bot_session_id == session)
            .order_by(conversations.c.created_at.desc())
            .limit(1)
        )
        async with self._reading() as connection:
            found: str | None = await connection.scalar(query)
        return found

    async def in_state(self, state: State) -> list[str]:
        query = select(conversations.c.id).where(conversations.c.state == state.value)
        async with self._reading() as connection:
            return [row.id for row in (await connection.execute(query)).all()]

    async def seen(self, dedupe_key: str) -> bool:
        query = select(exists().where(processed_events.c.key == dedupe_key))
        async with self._reading() as connection:
            return bool(await connection.scalar(query))

    async def next_outbox(self, conversation_id: str) -> OutboxItem | None:
        query = (
            select(outbox).where(outbox.c.conversation_id == conversation_id).order_by(outbox.c.id).limit(1)
        )
        async with self._reading() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else _outbox_item(row)

    async def reschedule_outbox(
        self, item_id: int, *, attempts: int, next_attempt_at: datetime, error: str
    ) -> None:
        statement = (
            update(outbox)
            .where(outbox.c.id == item_id)
            .values(attempts=attempts, next_attempt_at=_utc(next_attempt_at), last_error=error[:500])
        )
        async with self._writing() as connection:
            await connection.execute(statement)

    async def start_outbox(self, item_id: int) -> None:
        statement = update(outbox).where(outbox.c.id == item_id).values(started_at=_utc(self._clock.now()))
        async with self._writing() as connection:
            await connection.execute(statement)

    async def finish_outbox(self, item_id: int) -> None:
        async with self._writing() as connection:
            await connection.execute(delete(outbox).where(outbox.c.id == item_id))

    async def pending_outbox(self) -> list[str]:
        query = select(outbox.c.conversation_id).distinct()
        async with self._reading() as connection:
            return [row.conversation_id for row in (await connection.execute(query)).all()]

    async def park(self, chat_id: str, key: str, data: Mapping[str, Any]) -> None:
        insert = (
            self._insert(parked_desk_events)
            .values(key=key, chat_id=chat_id, data=_json_copy(data), parked_at=_utc(self._clock.now()))
            .on_conflict_do_nothing(index_elements=["key"])
        )
        async with self._writing() as connection:
            await connection.execute(insert)

    async def unpark(self, chat_id: str) -> list[dict[str, Any]]:
        query = (
            select(parked_desk_events.c.id, parked_desk_events.c.data)
            .where(parked_desk_events.c.chat_id == chat_id)
            .order_by(parked_desk_events.c.id)
        )
        async with self._writing() as connection:
            rows = (await connection.execute(query)).all()
            if rows:
                ids = [row.id for row in rows]
                await connection.execute(delete(parked_desk_events).where(parked_desk_events.c.id.in_(ids)))
        return [dict(row.data) for row in rows]

    # --- the steps of a save ---------------------------------------------------------------------

    async def _bump(
        self,
        connection: AsyncConnection,
        conversation: Conversation,
        expected_version: int,
        count: int,
        now: datetime,
    ) -> int:
        """Write the conversation if it is still at ``expected_version``; return its new ``last_seq``."""
        statement = (
            update(conversations)
            .where(conversations.c.id == conversation.id, conversations.c.version == expected_version)
            .values(
                **_mutable_columns(conversation),
                version=expected_version + 1,
                last_seq=conversations.c.last_seq + count,
                updated_at=now,
            )
            .returning(conversations.c.last_seq)
        )
        last_seq: int | None = (await connection.execute(statement)).scalar()
        if last_seq is not None:
            return last_seq
        present = await connection.scalar(select(exists().where(conversations.c.id == conversation.id)))
        if present:
            raise ConcurrentUpdate(
                f"conversation {conversation.id} is no longer at version {expected_version}",
                conversation_id=conversation.id,
            )
        raise ConversationNotFound(f"no conversation {conversation.id}", conversation_id=conversation.id)

    async def _append(
        self, connection: AsyncConnection, conversation_id: str, stored: list[FeedEvent]
    ) -> None:
        if not stored:
            return
        rows = [
            {
                "conversation_id": conversation_id,
                "seq": event.seq,
                "type": event.type,
                "data": event.data,
                "created_at": event.created_at,
            }
            for event in stored
        ]
        await connection.execute(feed_events.insert(), rows)

    async def _remember_desk_chat(self, connection: AsyncConnection, conversation: Conversation) -> None:
        if conversation.desk_chat_id is None:
            return
        upsert = self._insert(desk_chats).values(
            chat_id=conversation.desk_chat_id, conversation_id=conversation.id
        )
        await connection.execute(
            upsert.on_conflict_do_update(
                index_elements=["chat_id"], set_={"conversation_id": upsert.excluded.conversation_id}
            )
        )

    async def _record(
        self, connection: AsyncConnection, conversation_id: str, key: str, now: datetime
    ) -> None:
        """Record the dedupe key; an existing one aborts the whole save (the transaction rolls back)."""
        insert = (
            self._insert(processed_events)
            .values(key=key, conversation_id=conversation_id, processed_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(processed_events.c.key)
        )
        if (await connection.execute(insert)).first() is None:
            raise DuplicateEvent(f"event {key} was already processed", conversation_id=conversation_id)

    # --- plumbing --------------------------------------------------------------------------------

    def _insert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        """An INSERT that can say ON CONFLICT: both backends spell it the same, SQLAlchemy per dialect."""
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    @contextlib.asynccontextmanager
    async def _taking_turns(self) -> AsyncIterator[None]:
        if self._turns is None:
            yield
            return
        async with self._turns:
            yield

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        async with self._taking_turns(), self._engine.connect() as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with self._taking_turns(), self._one_writer(), self._writer.begin() as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def _one_writer(self) -> AsyncIterator[None]:
        if self._writers is None:
            yield
            return
        async with self._writers:
            yield


def _mutable_columns(conversation: Conversation) -> dict[str, Any]:
    """The columns a save rewrites; ``id``, ``created_at``, ``version`` and ``last_seq`` are the store's."""
    started, ended = conversation.handoff_started_at, conversation.handoff_ended_at
    memory = conversation.bot_memory
    return {
        "token_hash": conversation.token_hash,
        "state": conversation.state.value,
        "language": conversation.language,
        "bot_session_id": conversation.bot_session_id,
        "customer_name": conversation.customer.name,
        "customer_email": conversation.customer.email,
        "page_url": conversation.page_url,
        "desk_customer_id": conversation.desk_customer_id,
        "desk_chat_id": conversation.desk_chat_id,
        "agent_id": conversation.agent_id,
        "agent_name": conversation.agent_name,
        "handoff_reason": conversation.handoff_reason,
        "handoff_started_at": None if started is None else _utc(started),
        "handoff_ended_at": None if ended is None else _utc(ended),
        "desk_continuous": conversation.desk_continuous,
        "queue_position": conversation.queue_position,
        "desk_cursor": None if conversation.desk_cursor is None else _json_copy(conversation.desk_cursor),
        "fallback_streak": conversation.fallback_streak,
        "delivered_seq": conversation.delivered_seq,
        "bot_memory": None if memory is None else _json_copy(memory),
    }


def _conversation(row: Row[Any]) -> Conversation:
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
        desk_customer_id=row.desk_customer_id,
        desk_chat_id=row.desk_chat_id,
        agent_id=row.agent_id,
        agent_name=row.agent_name,
        handoff_reason=row.handoff_reason,
        handoff_started_at=row.handoff_started_at,
        handoff_ended_at=row.handoff_ended_at,
        desk_continuous=row.desk_continuous,
        queue_position=row.queue_position,
        desk_cursor=row.desk_cursor,
        fallback_streak=row.fallback_streak,
        delivered_seq=row.delivered_seq,
        bot_memory=row.bot_memory,
    )


def _outbox_row(item: OutboxItem) -> dict[str, Any]:
    return {
        "conversation_id": item.conversation_id,
        "message_id": item.message_id,
        "text": item.text,
        "created_at": _utc(item.created_at),
        "attempts": item.attempts,
        "next_attempt_at": _utc(item.next_attempt_at),
    }


def _outbox_item(row: Row[Any]) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        message_id=row.message_id,
        conversation_id=row.conversation_id,
        text=row.text,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        attempts=row.attempts,
        started=row.started_at is not None,
    )


def _json_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    """The event data as it will read back: plain JSON (tuples become lists), checked before any write."""
    copied: dict[str, Any] = json.loads(json.dumps(dict(data), ensure_ascii=False, allow_nan=False))
    return copied


def _utc(moment: datetime) -> datetime:
    """Checked here, so that a naive time fails as a plain ``ValueError`` rather than a driver error."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a stored time must be timezone-aware, not {moment!r}")
    return moment.astimezone(UTC)
