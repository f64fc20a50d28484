"""``SqlStore``: the store's ports (``ConversationStore``, ``Outbox``, ``WebhookIntake``, ``Leases``) on
SQLAlchemy Core, for SQLite and PostgreSQL alike. Rows become domain values, and back, in ``rows.py``.

Every save is one transaction that starts with the versioned UPDATE. On PostgreSQL the row lock makes a
racing save wait and then match zero rows; on SQLite the writer takes the database lock at ``BEGIN
IMMEDIATE`` (see ``engine.py``). Either way exactly one of two saves from the same version wins.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Table, delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from livehandoff.clock import SystemClock
from livehandoff.domain.feed import FeedEvent, Payload, payload_data
from livehandoff.domain.model import Conversation, OutboxItem, State
from livehandoff.errors import ConcurrentUpdate, ConversationNotFound, DuplicateEvent
from livehandoff.ports import Clock
from livehandoff.storage.engine import WRITE_OPTIONS, SqliteWorker
from livehandoff.storage.rows import (
    conversation_from_row,
    conversation_values,
    feed_event_from_row,
    json_copy,
    outbox_item_from_row,
    outbox_values,
    utc,
)
from livehandoff.storage.tables import (
    conversations,
    desk_chats,
    leases,
    outbox,
    parked_desk_events,
    processed_events,
)
from livehandoff.storage.tables import events as feed_events  # ``events`` names the argument of save()

T = TypeVar("T")
NOTED_CHATS_MAX = 100_000


class SqlStore:
    """Conversations with their feeds, the outbox, webhook intake (dedupe keys, parked updates) and leases
    in SQL. Build it with ``open_store``; ``close()`` it."""

    def __init__(
        self, engine: AsyncEngine, *, clock: Clock | None = None, sqlite: SqliteWorker | None = None
    ) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**WRITE_OPTIONS)
        self._sqlite = sqlite
        self._clock = clock or SystemClock()
        self._noted_chats: set[tuple[str, str]] = set()
        self._notify: str | None = None

    def notify_on_save(self, channel: str) -> None:
        """PostgreSQL: every save that stores feed events sends ``NOTIFY channel, '<conversation id>'`` in
        its own transaction, so every instance hears of the events exactly when they are committed."""
        self._notify = channel

    @property
    def engine(self) -> AsyncEngine:
        """The engine, for health checks and ``current_revision``; the store's own calls go through it."""
        return self._engine

    async def close(self) -> None:
        """Release the connections (the composition root calls this; it is not part of the ports)."""
        if self._sqlite is not None:
            await self._sqlite.close()
        await self._engine.dispose()

    # --- ConversationStore -----------------------------------------------------------------------

    async def create(self, conversation: Conversation) -> None:
        now = utc(self._clock.now())
        values = {
            **conversation_values(conversation),
            "id": conversation.id,
            "created_at": utc(conversation.created_at),
            "updated_at": now,
            "version": 0,
            "last_seq": 0,
        }
        insert = self._insert(conversations).values(values).on_conflict_do_nothing(index_elements=["id"])

        def work(connection: Connection) -> None:
            created = connection.execute(insert.returning(conversations.c.id)).first()
            if created is None:
                raise ConcurrentUpdate(
                    f"conversation {conversation.id} already exists", conversation_id=conversation.id
                )
            self._remember_desk_chat(connection, conversation)

        await self._write(work)
        self._noted(conversation)

    async def load(self, conversation_id: str) -> Conversation:
        query = select(conversations).where(conversations.c.id == conversation_id)
        row = await self._read(lambda connection: connection.execute(query).first())
        if row is None:
            raise ConversationNotFound(f"no conversation {conversation_id}", conversation_id=conversation_id)
        return conversation_from_row(row)

    async def save(
        self,
        conversation: Conversation,
        events: Sequence[Payload],
        *,
        expected_version: int,
        dedupe_key: str | None = None,
        enqueue: Sequence[OutboxItem] = (),
    ) -> list[FeedEvent]:
        now = utc(self._clock.now())
        rows = [json_copy(payload_data(payload)) for payload in events]

        def work(connection: Connection) -> list[FeedEvent]:
            last_seq = self._bump(connection, conversation, expected_version, len(events), now)
            first = last_seq - len(events) + 1
            stored = [
                FeedEvent(seq=first + index, payload=payload, created_at=now)
                for index, payload in enumerate(events)
            ]
            self._append(connection, conversation.id, stored, rows)
            self._remember_desk_chat(connection, conversation)
            if dedupe_key is not None:
                self._record(connection, conversation.id, dedupe_key, now)
            if enqueue:
                connection.execute(outbox.insert(), [outbox_values(item) for item in enqueue])
            if stored and self._notify is not None:
                connection.execute(select(func.pg_notify(self._notify, conversation.id)))
            return stored

        stored = await self._write(work)
        self._noted(conversation)
        return stored

    async def events_after(
        self, conversation_id: str, after_seq: int, *, limit: int | None = None
    ) -> list[FeedEvent]:
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be positive, not {limit}")
        query = (
            select(feed_events.c.seq, feed_events.c.type, feed_events.c.data, feed_events.c.created_at)
            .where(feed_events.c.conversation_id == conversation_id, feed_events.c.seq > after_seq)
            .order_by(feed_events.c.seq)
            .limit(limit)
        )
        rows = await self._read(lambda connection: connection.execute(query).all())
        return [feed_event_from_row(row) for row in rows]

    async def find_by_desk_chat(self, chat_id: str) -> str | None:
        query = select(desk_chats.c.conversation_id).where(desk_chats.c.chat_id == chat_id)
        found: str | None = await self._read(lambda connection: connection.scalar(query))
        return found

    async def find_by_bot_session(self, session: str) -> str | None:
        query = (
            select(conversations.c.id)
            .where(conversations.c.bot_session_id == session)
            .order_by(conversations.c.created_at.desc())
            .limit(1)
        )
        found: str | None = await self._read(lambda connection: connection.scalar(query))
        return found

    async def in_state(self, state: State) -> list[str]:
        query = select(conversations.c.id).where(conversations.c.state == state.value)
        rows = await self._read(lambda connection: connection.execute(query).all())
        return [row.id for row in rows]

    # --- Outbox ----------------------------------------------------------------------------------

    async def next_item(self, conversation_id: str) -> OutboxItem | None:
        query = (
            select(outbox).where(outbox.c.conversation_id == conversation_id).order_by(outbox.c.id).limit(1)
        )
        row = await self._read(lambda connection: connection.execute(query).first())
        return None if row is None else outbox_item_from_row(row)

    async def hold_waiting(self, conversation_id: str) -> list[str]:
        queue, head = outbox.alias("queue"), outbox.alias("head")
        first = select(func.min(queue.c.id)).where(queue.c.conversation_id == conversation_id)
        head_failed = exists().where(head.c.id == first.scalar_subquery(), head.c.attempts > 0)
        statement = (
            update(outbox)
            .where(outbox.c.conversation_id == conversation_id, outbox.c.held.is_(False), head_failed)
            .values(held=True)
            .returning(outbox.c.id, outbox.c.message_id)
        )
        rows = await self._write(lambda connection: connection.execute(statement).all())
        return [row.message_id for row in sorted(rows, key=lambda row: row.id)]

    async def reschedule(self, item_id: int, *, attempts: int, next_attempt_at: datetime, error: str) -> None:
        statement = (
            update(outbox)
            .where(outbox.c.id == item_id)
            .values(attempts=attempts, next_attempt_at=utc(next_attempt_at), last_error=error[:500])
        )
        await self._write(lambda connection: connection.execute(statement))

    async def mark_started(self, item_id: int) -> None:
        statement = update(outbox).where(outbox.c.id == item_id).values(started_at=utc(self._clock.now()))
        await self._write(lambda connection: connection.execute(statement))

    async def finish(self, item_id: int) -> None:
        statement = delete(outbox).where(outbox.c.id == item_id)
        await self._write(lambda connection: connection.execute(statement))

    async def pending_conversations(self) -> list[str]:
        query = select(outbox.c.conversation_id).distinct()
        rows = await self._read(lambda connection: connection.execute(query).all())
        return [row.conversation_id for row in rows]

    async def backlog(self) -> tuple[int, datetime | None]:
        query = select(func.count(), func.min(outbox.c.created_at))
        row = await self._read(lambda connection: connection.execute(query).one())
        oldest = row[1]
        if isinstance(oldest, str):  # SQLite returns an aggregate of a time column as text
            oldest = datetime.fromisoformat(oldest)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        return int(row[0]), oldest

    # --- WebhookIntake -----------------------------------------------------------------------------

    async def seen(self, dedupe_key: str) -> bool:
        query = select(exists().where(processed_events.c.key == dedupe_key))
        return bool(await self._read(lambda connection: connection.scalar(query)))

    async def park(self, chat_id: str, key: str, data: Mapping[str, Any]) -> None:
        insert = (
            self._insert(parked_desk_events)
            .values(key=key, chat_id=chat_id, data=json_copy(data), parked_at=utc(self._clock.now()))
            .on_conflict_do_nothing(index_elements=["key"])
        )
        await self._write(lambda connection: connection.execute(insert))

    async def unpark(self, chat_id: str) -> list[dict[str, Any]]:
        query = (
            select(parked_desk_events.c.id, parked_desk_events.c.data)
            .where(parked_desk_events.c.chat_id == chat_id)
            .order_by(parked_desk_events.c.id)
        )

        def work(connection: Connection) -> list[dict[str, Any]]:
            rows = connection.execute(query).all()
            if rows:
                ids = [row.id for row in rows]
                connection.execute(delete(parked_desk_events).where(parked_desk_events.c.id.in_(ids)))
            return [dict(row.data) for row in rows]

        return await self._write(work)

    # --- Leases ------------------------------------------------------------------------------------

    async def claim(self, key: str, owner: str, *, now: datetime, until: datetime) -> bool:
        # One statement: a racing claim waits on the row (PostgreSQL) or the write lock (SQLite) and then
        # finds the lease taken, so exactly one of two claimants wins.
        insert = self._insert(leases).values(key=key, owner=owner, expires_at=utc(until))
        claim = insert.on_conflict_do_update(
            index_elements=["key"],
            set_={"owner": insert.excluded.owner, "expires_at": insert.excluded.expires_at},
            where=(leases.c.expires_at <= utc(now)) | (leases.c.owner == owner),
        ).returning(leases.c.key)
        return await self._write(lambda connection: connection.execute(claim).first() is not None)

    async def renew(self, owner: str, keys: Collection[str], *, until: datetime) -> set[str]:
        if not keys:
            return set()
        statement = (
            update(leases)
            .where(leases.c.owner == owner, leases.c.key.in_(list(keys)))
            .values(expires_at=utc(until))
            .returning(leases.c.key)
        )
        rows = await self._write(lambda connection: connection.execute(statement).all())
        return {row.key for row in rows}

    async def release(self, owner: str, keys: Collection[str]) -> None:
        if not keys:
            return
        statement = delete(leases).where(leases.c.owner == owner, leases.c.key.in_(list(keys)))
        await self._write(lambda connection: connection.execute(statement))

    async def holder(self, key: str, *, now: datetime) -> str | None:
        query = select(leases.c.owner).where(leases.c.key == key, leases.c.expires_at > utc(now))
        owner: str | None = await self._read(lambda connection: connection.scalar(query))
        return owner

    # --- the steps of a save ---------------------------------------------------------------------

    def _bump(
        self,
        connection: Connection,
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
                **conversation_values(conversation),
                version=expected_version + 1,
                last_seq=conversations.c.last_seq + count,
                updated_at=now,
            )
            .returning(conversations.c.last_seq)
        )
        last_seq: int | None = connection.execute(statement).scalar()
        if last_seq is not None:
            return last_seq
        present = connection.scalar(select(exists().where(conversations.c.id == conversation.id)))
        if present:
            raise ConcurrentUpdate(
                f"conversation {conversation.id} is no longer at version {expected_version}",
                conversation_id=conversation.id,
            )
        raise ConversationNotFound(f"no conversation {conversation.id}", conversation_id=conversation.id)

    def _append(
        self,
        connection: Connection,
        conversation_id: str,
        stored: list[FeedEvent],
        data: list[dict[str, Any]],
    ) -> None:
        if not stored:
            return
        rows = [
            {
                "conversation_id": conversation_id,
                "seq": event.seq,
                "type": event.kind.value,
                "data": values,
                "created_at": event.created_at,
            }
            for event, values in zip(stored, data, strict=True)
        ]
        connection.execute(feed_events.insert(), rows)

    def _remember_desk_chat(self, connection: Connection, conversation: Conversation) -> None:
        """Note which conversation a desk chat belongs to; a pair this process has noted is not written
        again (the write is idempotent, so a pair noted by another process costs one extra write)."""
        if conversation.chat is None or (conversation.chat.chat_id, conversation.id) in self._noted_chats:
            return
        upsert = self._insert(desk_chats).values(
            chat_id=conversation.chat.chat_id, conversation_id=conversation.id
        )
        connection.execute(
            upsert.on_conflict_do_update(
                index_elements=["chat_id"], set_={"conversation_id": upsert.excluded.conversation_id}
            )
        )

    def _record(self, connection: Connection, conversation_id: str, key: str, now: datetime) -> None:
        """Record the dedupe key; an existing one aborts the whole save (the transaction rolls back)."""
        insert = (
            self._insert(processed_events)
            .values(key=key, conversation_id=conversation_id, processed_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(processed_events.c.key)
        )
        if connection.execute(insert).first() is None:
            raise DuplicateEvent(f"event {key} was already processed", conversation_id=conversation_id)

    # --- plumbing --------------------------------------------------------------------------------

    def _insert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        """An INSERT that can say ON CONFLICT: both backends spell it the same, SQLAlchemy per dialect."""
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _noted(self, conversation: Conversation) -> None:
        """After a committed write: its desk chat is in ``desk_chats``."""
        if conversation.chat is not None:
            if len(self._noted_chats) >= NOTED_CHATS_MAX:
                self._noted_chats.clear()
            self._noted_chats.add((conversation.chat.chat_id, conversation.id))

    async def _read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one read transaction: one hop to SQLite's thread, or one ``run_sync`` on
        PostgreSQL (asyncpg underneath, no thread)."""
        if self._sqlite is not None:
            return await self._sqlite.read(work)
        async with self._engine.connect() as connection:
            return await connection.run_sync(work)

    async def _write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction (``BEGIN IMMEDIATE`` on SQLite), committed at its end."""
        if self._sqlite is not None:
            return await self._sqlite.write(work)
        async with self._writer.begin() as connection:
            return await connection.run_sync(work)
