"""The small interfaces the bridge needs from the outside world.

Integrations, stores and feeds implement these; the bridge depends on nothing else. Fakes in tests are
real classes (or the emulators), never ``Mock()``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from livehandoff.domain.feed import FeedEvent, Payload
from livehandoff.domain.model import (
    BotTurn,
    Conversation,
    HandoffRequest,
    OpenedChat,
    OutboxItem,
    QueueInfo,
    State,
    ThreadItem,
)


class BotEngine(Protocol):
    """A conversational bot (Dialogflow ES or CX)."""

    async def detect_intent(self, *, session_id: str, text: str, language: str) -> BotTurn:
        """Send one customer message and return the bot's turn. Raises ``BotError``."""
        ...

    async def send_event(
        self,
        *,
        session_id: str,
        name: str,
        parameters: Mapping[str, Any],
        language: str,
        memory: Mapping[str, Any] | None = None,
    ) -> BotTurn:
        """Trigger a bot event (ES ``queryInput.event``, CX event input) and return the bot's turn.

        ``memory`` is a ``BotTurn.memory`` from earlier in the session, restored before the event is
        matched (ES contexts, CX session parameters) because the session may have expired meanwhile.
        """
        ...


class AgentDesk(Protocol):
    """Where human agents work (LiveChat), acting as the customer."""

    async def open_chat(self, request: HandoffRequest) -> OpenedChat:
        """Start the agent chat with the transcript (or resume the returning customer's chat).

        Raises ``DeskError`` subclasses (``GroupsOffline``, ``DeskUnavailable``, ...).
        """
        ...

    async def send_message(
        self, *, customer_id: str, chat_id: str, text: str, message_id: str = "", maybe_sent: bool = False
    ) -> list[str]:
        """Send the customer's message to the chat; return LiveChat's ids of the events now there.

        ``message_id`` makes the send idempotent: with ``maybe_sent`` (an earlier attempt may have
        arrived) nothing that already arrived is sent again.
        """
        ...

    async def agent_name(self, *, customer_id: str, chat_id: str, agent_id: str) -> str | None:
        """The display name of an agent of the chat, as the customer sees it."""
        ...

    async def close_chat(self, *, customer_id: str, chat_id: str) -> None:
        """Close the chat as the customer (a chat already closed is fine)."""
        ...

    async def queue(self, *, customer_id: str, chat_id: str) -> QueueInfo | None:
        """The waiting chat's place in the queue, when the desk knows it."""
        ...

    async def thread_items(self, *, customer_id: str, chat_id: str) -> list[ThreadItem]:
        """The items of the chat's current thread, oldest first (to fill in what webhooks skipped)."""
        ...


class ConversationStore(Protocol):
    """Durable conversations and their feeds."""

    async def create(self, conversation: Conversation) -> None:
        """Insert a new conversation (version 0, no events)."""
        ...

    async def load(self, conversation_id: str) -> Conversation:
        """Return the conversation or raise ``ConversationNotFound``."""
        ...

    async def save(
        self,
        conversation: Conversation,
        events: Sequence[Payload],
        *,
        expected_version: int,
        dedupe_key: str | None = None,
        enqueue: Sequence[OutboxItem] = (),
    ) -> list[FeedEvent]:
        """Atomically: check the stored version, write the conversation with ``version + 1``,
        append the feed events with the next ``seq`` numbers, record ``dedupe_key`` if given (see
        ``WebhookIntake.seen``), and put ``enqueue`` in the outbox.

        Raises ``ConcurrentUpdate`` when the stored version differs, ``DuplicateEvent`` when the dedupe
        key was recorded before. Returns the stored feed events.
        """
        ...

    async def events_after(
        self, conversation_id: str, after_seq: int, *, limit: int | None = None
    ) -> list[FeedEvent]:
        """Feed events with ``seq > after_seq`` in order: all of them, or the first ``limit``."""
        ...

    async def find_by_desk_chat(self, chat_id: str) -> str | None:
        """The conversation id whose current or past desk chat is ``chat_id``."""
        ...

    async def find_by_bot_session(self, session: str) -> str | None:
        """The newest conversation whose bot session is ``session`` (fulfillment mode keys on it)."""
        ...

    async def in_state(self, state: State) -> list[str]:
        """Conversations in ``state`` (waiting ones are watched again after a restart)."""
        ...


class Outbox(Protocol):
    """Customer messages accepted but not yet routed (they enter with ``ConversationStore.save``)."""

    async def next_item(self, conversation_id: str) -> OutboxItem | None:
        """The conversation's oldest message still to route."""
        ...

    async def hold_waiting(self, conversation_id: str) -> list[str]:
        """While the head of the conversation's queue has failed at least once, mark every message of the
        queue not marked yet as held (``OutboxItem.held``: the customer is told it waits); return their
        message ids, oldest first. Racing callers get disjoint lists."""
        ...

    async def reschedule(self, item_id: int, *, attempts: int, next_attempt_at: datetime, error: str) -> None:
        """Try this message again later."""
        ...

    async def mark_started(self, item_id: int) -> None:
        """An attempt begins: noted before anything leaves, so a crash mid-send is known afterwards."""
        ...

    async def finish(self, item_id: int) -> None:
        """The message reached the bot or LiveChat (or was settled otherwise)."""
        ...

    async def pending_conversations(self) -> list[str]:
        """Conversations with messages still to route (work to resume after a restart)."""
        ...

    async def backlog(self) -> tuple[int, datetime | None]:
        """How many messages wait to be routed, and when the oldest was accepted."""
        ...


class WebhookIntake(Protocol):
    """What inbound desk updates need before they are applied: dedupe, and parking until the chat is known."""

    async def seen(self, dedupe_key: str) -> bool:
        """Whether an inbound update with this key was already applied (``ConversationStore.save`` records
        keys)."""
        ...

    async def park(self, chat_id: str, key: str, data: Mapping[str, Any]) -> None:
        """Keep a desk update whose chat is not known yet (same ``key`` twice: kept once)."""
        ...

    async def unpark(self, chat_id: str) -> list[dict[str, Any]]:
        """Remove and return the parked updates of ``chat_id``, oldest first."""
        ...


class Leases(Protocol):
    """Work claimed by one instance at a time: a lease is held by its owner until it expires.

    Times come from the caller's clock; instances are expected to keep their clocks in step (NTP), and
    leases are long enough (seconds) that small skew does not matter.
    """

    async def claim(self, key: str, owner: str, *, now: datetime, until: datetime) -> bool:
        """Take the lease ``key`` until ``until`` if it is free, expired at ``now``, or ``owner``'s."""
        ...

    async def renew(self, owner: str, keys: Collection[str], *, until: datetime) -> set[str]:
        """Extend ``owner``'s leases among ``keys``; return the keys it still held."""
        ...

    async def release(self, owner: str, keys: Collection[str]) -> None:
        """Give ``owner``'s leases among ``keys`` back at once."""
        ...

    async def holder(self, key: str, *, now: datetime) -> str | None:
        """Who holds the lease ``key`` at ``now``, if anyone."""
        ...


class Subscription(Protocol):
    """A listener on one conversation's feed."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def wait(self, max_wait: float) -> bool:
        """Wait until something was published (True) or ``max_wait`` seconds passed (False)."""
        ...


class CustomerFeed(Protocol):
    """Wakes up the readers of a conversation's feed when events were stored."""

    async def publish(self, conversation_id: str, seq: int) -> None: ...

    def subscribe(self, conversation_id: str) -> Subscription: ...

    def watch(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(conversation_id)`` whenever that conversation's feed grows, on any instance."""
        ...


class Meter(Protocol):
    """What the bridge reports for the operator's metrics (``metrics.Metrics``)."""

    def stored(self, conversation: Conversation, events: Iterable[FeedEvent], now: datetime) -> None:
        """Feed events were stored for ``conversation`` (as it is after the step)."""
        ...

    def relayed(self, direction: str, seconds: float) -> None:
        """A message went through: ``customer_message`` (accepted → routed), ``agent_message`` (webhook in →
        stored)."""
        ...

    def webhook(self, outcome: str) -> None:
        """A desk update was ``accepted``, a ``duplicate``, ``parked`` or ``ignored``."""
        ...


class Clock(Protocol):
    """The time, injected so that tests can control it."""

    def now(self) -> datetime: ...
