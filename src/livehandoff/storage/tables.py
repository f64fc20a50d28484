"""The schema as SQLAlchemy Core tables: what the store queries and what autogenerate compares against.

Migrations in ``migrations/versions`` are frozen copies of this schema at each revision; change both
together (``python -m livehandoff.storage revision --autogenerate -m "..."`` drafts the copy).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    TypeDecorator,
    false,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, so that later migrations can drop or alter them on both backends."""

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware ``datetime`` stored in UTC and read back aware on every backend.

    PostgreSQL keeps ``timestamptz`` natively; SQLite has no time zones and returns naive values, which
    are UTC because every value is converted before it is written. Naive input is refused: it would be
    silently read back as UTC whatever the writer meant.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"refusing to store a naive datetime: {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _conversation_ref(*, index: bool) -> Column[str]:
    return Column(
        "conversation_id",
        Text,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        index=index,
    )


conversations = Table(
    "conversations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("token_hash", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("bot_session_id", Text, nullable=False, index=True),
    Column("customer_name", Text),
    Column("customer_email", Text),
    Column("page_url", Text),
    Column("version", Integer, nullable=False),
    Column("last_seq", Integer, nullable=False),
    Column("desk_customer_id", Text),
    Column("desk_chat_id", Text, index=True),
    Column("agent_id", Text),
    Column("agent_name", Text),
    Column("handoff_reason", Text),
    Column("handoff_started_at", UtcDateTime),
    Column("handoff_ended_at", UtcDateTime),
    Column("desk_continuous", Boolean, nullable=False),
    Column("queue_position", Integer),
    Column("desk_cursor", JSON),
    Column("fallback_streak", Integer, nullable=False),
    Column("delivered_seq", Integer, nullable=False),
    Column("bot_memory", JSON),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

events = Table(
    "events",
    metadata,
    _conversation_ref(index=False),
    Column("seq", Integer, nullable=False),
    Column("type", Text, nullable=False),
    # JSON rather than JSONB on PostgreSQL: nothing queries inside the data, and JSON keeps the key
    # order the bridge wrote, so both backends hand back identical objects.
    Column("data", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("conversation_id", "seq"),
)

desk_chats = Table(
    "desk_chats",
    metadata,
    Column("chat_id", Text, primary_key=True),
    _conversation_ref(index=True),
)
"""Every desk chat id a conversation ever had: webhooks about an earlier chat still find their way."""

processed_events = Table(
    "processed_events",
    metadata,
    Column("key", Text, primary_key=True),
    _conversation_ref(index=True),
    Column("processed_at", UtcDateTime, nullable=False),
    Index(None, "processed_at"),
)
"""Dedupe keys of inbound events already applied; ``processed_at`` lets an operator prune old keys."""

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _conversation_ref(index=True),
    Column("message_id", Text, nullable=False, unique=True),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False, index=True),
    Column("started_at", UtcDateTime),
    Column("last_error", Text),
    Column("held", Boolean, nullable=False, server_default=false()),
)
"""Customer messages accepted (202) but not yet routed, oldest first per conversation; kept across crashes."""

parked_desk_events = Table(
    "parked_desk_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", Text, nullable=False, unique=True),
    Column("chat_id", Text, nullable=False, index=True),
    Column("data", JSON, nullable=False),
    Column("parked_at", UtcDateTime, nullable=False),
)
"""Desk events that arrived before their chat was known (LiveChat assigns an agent, and sends the webhook,
while ``start_chat`` is still answering); applied in arrival order once the chat is saved."""

leases = Table(
    "leases",
    metadata,
    Column("key", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)
"""Work claimed by one instance until ``expires_at`` (``outbox:<conversation>``, ``waiting:<conversation>``):
the owner renews it while it works; a dead owner's lease lapses and another instance takes the work."""
