"""What commands do: the calls to the bot and to the agent desk, each mapped to the event it produces.

The bridge decides (through the state machine) and persists; this module only talks to the ports and
translates their answers and failures into events the machine understands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import structlog

from livehandoff.domain.handoff import HandoffSignal, transcript_since_last_handoff
from livehandoff.domain.machine import (
    AskBot,
    BotAnswered,
    BotFailed,
    CloseDeskChat,
    Command,
    DeskDeliveryFailed,
    DeskOpened,
    DeskRefused,
    DeskSent,
    Input,
    NotifyBot,
    OpenDeskChat,
    SendToDesk,
    ThreadSeen,
)
from livehandoff.domain.model import (
    AgentMessage,
    ChatEnded,
    Conversation,
    DeskChat,
    DeskUpdate,
    HandoffRequest,
    QueueInfo,
    ThreadItem,
)
from livehandoff.domain.ordering import ThreadCursor, event_number
from livehandoff.errors import (
    BotError,
    ChatInactive,
    DeskAuthError,
    DeskError,
    DeskRateLimited,
    DeskUnavailable,
    GroupsOffline,
    RetryLater,
)
from livehandoff.ports import AgentDesk, BotEngine, ConversationStore

log = structlog.get_logger("livehandoff.effects")

THREAD_READ_TRIES = 3

BOT_TEXT_LIMIT = 256
"""Dialogflow refuses longer text input; the agent still gets the full message."""


class Effects:
    """Runs the machine's commands through the ports.

    The bridge binds the conversation's id to the log context (``structlog.contextvars``) around every
    step, so the log lines here do not name it again.
    """

    def __init__(
        self,
        *,
        store: ConversationStore,
        bot: BotEngine,
        desk: AgentDesk,
        group_id: int | None,
        on_chat_opened: Callable[[str], None],
    ) -> None:
        self._store = store
        self._bot = bot
        self._desk = desk
        self._group_id = group_id
        self._on_chat_opened = on_chat_opened

    async def run(self, conversation: Conversation, command: Command) -> Input | None:
        match command:
            case AskBot(text=text):
                return await self._ask_bot(conversation, text)
            case NotifyBot(event=name, parameters=parameters, memory=memory):
                return await self._notify_bot(conversation, name, parameters, memory)
            case OpenDeskChat(signal=signal, continuous=continuous):
                return await self._open_desk_chat(conversation, signal, continuous)
            case CloseDeskChat(chat=opened):
                if opened is not None:
                    await self._close_chat(opened.customer_id, opened.chat_id)
                elif conversation.chat is not None:
                    await self._close_chat(conversation.chat.customer_id, conversation.chat.chat_id)
                return None
            case SendToDesk(message_id=message_id, text=text, maybe_sent=maybe_sent):
                return await self._send_to_desk(conversation, message_id, text, maybe_sent)

    async def _ask_bot(self, conversation: Conversation, text: str) -> Input:
        try:
            turn = await self._bot.detect_intent(
                session_id=conversation.bot_session_id,
                text=text[:BOT_TEXT_LIMIT],
                language=conversation.language,
            )
        except BotError as exc:
            log.warning("bot.failed", error=type(exc).__name__)
            return BotFailed(type(exc).__name__)
        return BotAnswered(turn)

    async def _notify_bot(
        self,
        conversation: Conversation,
        name: str,
        parameters: Mapping[str, Any],
        memory: Mapping[str, Any] | None,
    ) -> Input | None:
        """The bot learns the agent chat ended; a failure here only costs the bot's welcome back."""
        try:
            turn = await self._bot.send_event(
                session_id=conversation.bot_session_id,
                name=name,
                parameters=parameters,
                language=conversation.language,
                memory=memory,
            )
        except BotError as exc:
            log.warning("bot.return_event_failed", error=type(exc).__name__)
            return None
        return BotAnswered(turn, answering_return_event=True)

    async def _open_desk_chat(
        self, conversation: Conversation, signal: HandoffSignal, continuous: bool
    ) -> Input:
        events = await self._store.events_after(conversation.id, 0)
        request = HandoffRequest(
            conversation_id=conversation.id,
            bot_session_id=conversation.bot_session_id,
            language=conversation.language,
            reason=signal.reason,
            customer=conversation.customer,
            transcript=transcript_since_last_handoff(events),
            desk_customer_id=conversation.chat.customer_id if conversation.chat else None,
            desk_chat_id=conversation.chat.chat_id if conversation.chat else None,
            group_id=signal.group_id if signal.group_id is not None else self._group_id,
            page_url=conversation.page_url,
            context=signal.context,
            continuous=continuous,
        )
        try:
            chat = await self._desk.open_chat(request)
        except GroupsOffline:
            log.info("handoff.offline", continuous=continuous)
            return DeskRefused("offline", offline=True, signal=signal, continuous=continuous)
        except DeskError as exc:
            log.warning("handoff.failed", error_type=exc.error_type, error=str(exc)[:200])
            return DeskRefused(exc.error_type or type(exc).__name__)
        log.info("handoff.opened", chat_id=chat.chat_id, resumed=chat.resumed)
        self._on_chat_opened(conversation.id)
        return DeskOpened(chat, continuous)

    async def _close_chat(self, customer_id: str, chat_id: str) -> None:
        """Close a chat nobody took; if LiveChat cannot be told now, its own inactivity timer will."""
        try:
            await self._desk.close_chat(customer_id=customer_id, chat_id=chat_id)
        except DeskError as exc:
            log.warning("handoff.close_failed", error_type=exc.error_type)

    async def queue(self, conversation: Conversation) -> QueueInfo | None:
        chat = conversation.chat
        if chat is None:
            return None
        try:
            return await self._desk.queue(customer_id=chat.customer_id, chat_id=chat.chat_id)
        except DeskError:
            return None

    async def _send_to_desk(
        self, conversation: Conversation, message_id: str, text: str, maybe_sent: bool
    ) -> Input | None:
        """Relay to LiveChat. Failures that pass (outage, rate limit, token trouble) raise ``RetryLater``;
        a closed chat is the state machine's to resolve; anything else is told to the customer."""
        chat = conversation.chat
        if chat is None:
            return DeskDeliveryFailed(message_id, text, chat_inactive=True)
        try:
            event_ids = await self._desk.send_message(
                customer_id=chat.customer_id,
                chat_id=chat.chat_id,
                text=text,
                message_id=message_id,
                maybe_sent=maybe_sent,
            )
        except ChatInactive:
            return DeskDeliveryFailed(message_id, text, chat_inactive=True)
        except DeskRateLimited as exc:
            raise RetryLater("too_many_requests", retry_after=exc.retry_after) from exc
        except (DeskUnavailable, DeskAuthError) as exc:
            raise RetryLater(exc.error_type or type(exc).__name__) from exc
        except DeskError as exc:
            log.warning("relay.refused", error_type=exc.error_type)
            return DeskDeliveryFailed(message_id, text)
        return DeskSent(tuple(event_ids))

    async def missing_before(self, conversation: Conversation, event: AgentMessage) -> list[Input]:
        """What LiveChat holds before ``event`` that we have not handled, in thread order.

        Asked only when the event's number leaves a hole behind it (a webhook overtook another, or
        one was lost); agent messages come back as ``AgentMessage`` to show, the rest as ``ThreadSeen``.
        When LiveChat cannot be read after a few tries, ``DeskUnavailable`` goes up: the webhook is then
        refused, nothing is recorded, and LiveChat's redelivery tries again — showing the message now
        would put it before the ones it overtook.
        """
        chat = conversation.chat
        cursor = chat.cursor if chat is not None else None
        position = event_number(event.event_id)
        if chat is None or cursor is None or position is None or position[0] != cursor.thread_id:
            return []
        if cursor.handled(position[1]) or not cursor.holes_before(position[1]):
            return []
        items = await self._read_thread(chat.customer_id, event.chat_id)
        return _missing(chat, cursor, event, items)

    async def _read_thread(self, customer_id: str, chat_id: str) -> list[ThreadItem]:
        attempt = 0
        while True:
            try:
                return await self._desk.thread_items(customer_id=customer_id, chat_id=chat_id)
            except (DeskUnavailable, DeskRateLimited) as exc:
                attempt += 1
                log.warning("ordering.thread_unavailable", attempt=attempt)
                if attempt == THREAD_READ_TRIES:
                    raise DeskUnavailable(
                        "the chat's thread could not be read", error_type=exc.error_type
                    ) from exc
                retry_after = exc.retry_after if isinstance(exc, DeskRateLimited) else None
                await asyncio.sleep(min(retry_after or 0.2 * 2 ** (attempt - 1), 1.0))

    async def with_agent_name(self, conversation: Conversation, event: DeskUpdate) -> DeskUpdate:
        """Webhooks name agents by id only (or not at all); the customer should see a name."""
        if isinstance(event, ChatEnded) or event.agent_name:
            return event
        agent = conversation.agent
        if agent is not None and event.agent_id == agent.id and agent.name:
            return replace(event, agent_name=agent.name)
        if conversation.chat is None:
            return event
        try:
            name = await self._desk.agent_name(
                customer_id=conversation.chat.customer_id, chat_id=event.chat_id, agent_id=event.agent_id
            )
        except DeskError:
            log.warning("desk.agent_name_failed", agent_id=event.agent_id)
            return event
        return replace(event, agent_name=name) if name else event


def _missing(
    chat: DeskChat, cursor: ThreadCursor, event: AgentMessage, items: list[ThreadItem]
) -> list[Input]:
    found: list[Input] = []
    seen: list[str] = []
    limit = event_number(event.event_id)
    for item in items:
        position = event_number(item.event_id)
        if position is None or limit is None or position[0] != cursor.thread_id or position[1] >= limit[1]:
            continue
        if cursor.handled(position[1]):
            continue
        is_agent = item.kind == "message" and item.author_id not in (None, chat.customer_id)
        if is_agent and item.author_id is not None and item.created_at is not None:
            found.append(
                AgentMessage(
                    chat_id=event.chat_id,
                    event_id=item.event_id,
                    agent_id=item.author_id,
                    text=item.text,
                    created_at=item.created_at,
                    agent_name=item.author_name,
                )
            )
        else:
            seen.append(item.event_id)
    return [ThreadSeen(tuple(seen)), *found] if seen else found
