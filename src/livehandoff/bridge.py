"""The one orchestrator: lock the conversation → load → decide → run commands through ports → save.

Every change to a conversation goes through ``Bridge._apply`` while that conversation's lock is held, so
two events for one conversation never interleave (a customer message and an agent webhook arriving
together, say). Saves also check the stored version, which keeps several instances honest.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid
from collections.abc import AsyncIterator, Collection, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import structlog

from livehandoff.domain.handoff import handoff_reason, transcript_since_last_handoff
from livehandoff.domain.machine import (
    AskBot,
    BotAnswered,
    BotFailed,
    Command,
    CustomerMessageDue,
    CustomerSaid,
    DeskDeliveryFailed,
    DeskOpened,
    DeskRefused,
    Event,
    OpenDeskChat,
    SendToDesk,
    decide,
)
from livehandoff.domain.model import (
    AgentMessage,
    ChatEnded,
    Conversation,
    CustomerProfile,
    DeskEvent,
    FeedEvent,
    HandoffRequest,
    State,
    desk_event_from_json,
    desk_event_to_json,
)
from livehandoff.errors import BotError, ChatInactive, DeskError, GroupsOffline, InvalidToken
from livehandoff.ports import AgentDesk, BotEngine, Clock, ConversationStore, CustomerFeed, Subscription

log = structlog.get_logger("livehandoff.bridge")

BOT_TEXT_LIMIT = 256
"""Dialogflow refuses longer text input; the agent still gets the full message."""


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class KeyedLocks:
    """One ``asyncio.Lock`` per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def hash_token(token: str) -> str:
    """Conversation tokens are stored only as their SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class BridgeOptions:
    """Policy the bridge applies."""

    handoff_names: Collection[str]
    group_id: int | None = None


class Bridge:
    """Drives conversations between the bot, the agent desk and the customer's feed."""

    def __init__(
        self,
        *,
        store: ConversationStore,
        bot: BotEngine,
        desk: AgentDesk,
        feed: CustomerFeed,
        options: BridgeOptions,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._bot = bot
        self._desk = desk
        self._feed = feed
        self._options = options
        self._clock = clock or SystemClock()
        self._locks = KeyedLocks()
        self._tasks: set[asyncio.Task[None]] = set()

    # --- customer side ------------------------------------------------------------------------

    async def start_conversation(
        self, *, language: str, customer: CustomerProfile, page_url: str | None
    ) -> tuple[Conversation, str]:
        """Create a conversation; return it with the bearer token that opens it (shown once)."""
        token = secrets.token_urlsafe(32)
        conversation_id = str(uuid.uuid4())
        conversation = Conversation(
            id=conversation_id,
            token_hash=hash_token(token),
            state=State.BOT,
            language=language,
            bot_session_id=conversation_id,
            created_at=self._clock.now(),
            customer=customer,
            page_url=page_url,
        )
        await self._store.create(conversation)
        log.info("conversation.started", conversation_id=conversation_id, language=language)
        return conversation, token

    async def authorize(self, conversation_id: str, token: str) -> Conversation:
        """The conversation, if ``token`` opens it.

        ``ConversationNotFound`` for an unknown id, ``InvalidToken`` for a wrong token. Ids are random UUIDs,
        so telling the two apart reveals nothing useful.
        """
        conversation = await self._store.load(conversation_id)
        if not hmac.compare_digest(conversation.token_hash, hash_token(token)):
            raise InvalidToken("token does not open this conversation", conversation_id=conversation_id)
        return conversation

    async def post_customer_message(self, conversation_id: str, text: str) -> str:
        """Store the customer's message, then route it in the background. Returns the message id."""
        message_id = f"msg_{uuid.uuid4().hex}"
        async with self._locks.hold(conversation_id):
            await self._apply(conversation_id, CustomerSaid(message_id, text))
        self._spawn(self._route(conversation_id, CustomerMessageDue(message_id, text)))
        return message_id

    async def events_after(self, conversation_id: str, after_seq: int) -> list[FeedEvent]:
        return await self._store.events_after(conversation_id, after_seq)

    def subscribe(self, conversation_id: str) -> Subscription:
        return self._feed.subscribe(conversation_id)

    # --- desk side -----------------------------------------------------------------------------

    async def handle_desk_event(self, event: DeskEvent) -> bool:
        """Apply a translated LiveChat webhook. Returns False when it was a duplicate or not ours (yet).

        LiveChat routes a new chat, and sends ``user_added_to_chat``, while ``start_chat`` is still
        answering us; such early events are parked in the store and applied once the chat is saved.
        Checking again after parking closes the gap with a save that happened in between.
        """
        conversation_id = await self._store.find_by_desk_chat(event.chat_id)
        if conversation_id is None:
            await self._store.park(event.chat_id, event.key, desk_event_to_json(event))
            conversation_id = await self._store.find_by_desk_chat(event.chat_id)
            if conversation_id is None:
                log.info("desk_event.parked", chat_id=event.chat_id, kind=type(event).__name__)
                return False
            async with self._locks.hold(conversation_id):
                await self._apply_parked(conversation_id, event.chat_id)
            return True
        async with self._locks.hold(conversation_id):
            return await self._apply_desk_event(conversation_id, event)

    async def _apply_desk_event(self, conversation_id: str, event: DeskEvent) -> bool:
        """The caller holds the conversation's lock."""
        if await self._store.seen(event.key):
            log.info("desk_event.duplicate", conversation_id=conversation_id, key=event.key)
            return False
        conversation = await self._store.load(conversation_id)
        if isinstance(event, AgentMessage) and event.agent_id == conversation.desk_customer_id:
            return False  # the customer's own message, echoed back
        event = await self._with_agent_name(conversation, event)
        await self._apply(conversation_id, event, dedupe_key=event.key)
        return True

    async def _apply_parked(self, conversation_id: str, chat_id: str) -> None:
        for data in await self._store.unpark(chat_id):
            await self._apply_desk_event(conversation_id, desk_event_from_json(data))

    async def _with_agent_name(self, conversation: Conversation, event: DeskEvent) -> DeskEvent:
        """Webhooks name agents by id only (or not at all); the customer should see a name."""
        if isinstance(event, ChatEnded) or event.agent_name:
            return event
        if event.agent_id == conversation.agent_id and conversation.agent_name:
            return replace(event, agent_name=conversation.agent_name)
        if conversation.desk_customer_id is None:
            return event
        try:
            name = await self._desk.agent_name(
                customer_id=conversation.desk_customer_id, chat_id=event.chat_id, agent_id=event.agent_id
            )
        except DeskError:
            log.warning("desk.agent_name_failed", conversation_id=conversation.id, agent_id=event.agent_id)
            return event
        return replace(event, agent_name=name) if name else event

    # --- the loop ----------------------------------------------------------------------------

    async def _route(self, conversation_id: str, event: CustomerMessageDue) -> None:
        async with self._locks.hold(conversation_id):
            await self._apply(conversation_id, event)

    async def _apply(self, conversation_id: str, event: Event, *, dedupe_key: str | None = None) -> None:
        """Decide on ``event`` and on every event its commands produce, saving after each step.

        The caller holds the conversation's lock.
        """
        pending: list[Event] = [event]
        while pending:
            current = pending.pop(0)
            conversation = await self._store.load(conversation_id)
            decision = decide(conversation, current, self._clock.now())
            if decision.ignored is not None:
                log.info("conversation.event_ignored", conversation_id=conversation_id, why=decision.ignored)
                continue
            stored = await self._store.save(
                decision.conversation,
                decision.events,
                expected_version=conversation.version,
                dedupe_key=dedupe_key,
            )
            dedupe_key = None
            if stored:
                await self._feed.publish(conversation_id, stored[-1].seq)
            if decision.conversation.state is not conversation.state:
                log.info(
                    "conversation.state_changed",
                    conversation_id=conversation_id,
                    from_state=conversation.state.value,
                    to_state=decision.conversation.state.value,
                )
            if decision.conversation.desk_chat_id not in (None, conversation.desk_chat_id):
                await self._apply_parked(conversation_id, decision.conversation.desk_chat_id)
            for command in decision.commands:
                outcome = await self._run(decision.conversation, command)
                if outcome is not None:
                    pending.append(outcome)

    async def _run(self, conversation: Conversation, command: Command) -> Event | None:
        match command:
            case AskBot(text=text):
                return await self._ask_bot(conversation, text)
            case OpenDeskChat(reason=reason):
                return await self._open_desk_chat(conversation, reason)
            case SendToDesk(message_id=message_id, text=text):
                return await self._send_to_desk(conversation, message_id, text)

    async def _ask_bot(self, conversation: Conversation, text: str) -> Event:
        try:
            turn = await self._bot.detect_intent(
                session_id=conversation.bot_session_id,
                text=text[:BOT_TEXT_LIMIT],
                language=conversation.language,
            )
        except BotError as exc:
            log.warning("bot.failed", conversation_id=conversation.id, error=type(exc).__name__)
            return BotFailed(type(exc).__name__)
        return BotAnswered(turn, handoff_reason(turn, self._options.handoff_names))

    async def _open_desk_chat(self, conversation: Conversation, reason: str) -> Event:
        events = await self._store.events_after(conversation.id, 0, limit=10_000)
        request = HandoffRequest(
            conversation_id=conversation.id,
            bot_session_id=conversation.bot_session_id,
            language=conversation.language,
            reason=reason,
            customer=conversation.customer,
            transcript=transcript_since_last_handoff(events),
            desk_customer_id=conversation.desk_customer_id,
            desk_chat_id=conversation.desk_chat_id,
            group_id=self._options.group_id,
            page_url=conversation.page_url,
        )
        try:
            chat = await self._desk.open_chat(request)
        except GroupsOffline:
            log.info("handoff.offline", conversation_id=conversation.id)
            return DeskRefused("offline", offline=True)
        except DeskError as exc:
            log.warning("handoff.failed", conversation_id=conversation.id, error_type=exc.error_type)
            return DeskRefused(exc.error_type or type(exc).__name__)
        log.info(
            "handoff.opened", conversation_id=conversation.id, chat_id=chat.chat_id, resumed=chat.resumed
        )
        return DeskOpened(chat)

    async def _send_to_desk(self, conversation: Conversation, message_id: str, text: str) -> Event | None:
        if conversation.desk_customer_id is None or conversation.desk_chat_id is None:
            return DeskDeliveryFailed(message_id, text, chat_inactive=True)
        try:
            await self._desk.send_message(
                customer_id=conversation.desk_customer_id, chat_id=conversation.desk_chat_id, text=text
            )
        except ChatInactive:
            return DeskDeliveryFailed(message_id, text, chat_inactive=True)
        except DeskError as exc:
            log.warning("relay.failed", conversation_id=conversation.id, error_type=exc.error_type)
            return DeskDeliveryFailed(message_id, text)
        return None

    # --- background work -----------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("bridge.task_failed", error=repr(task.exception()))

    async def drain(self) -> None:
        """Wait until every message accepted so far has been routed."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Finish routing what was accepted, then stop."""
        await self.drain()
