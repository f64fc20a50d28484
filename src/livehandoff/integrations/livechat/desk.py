"""``AgentDesk`` on LiveChat: the bridge acts as the customer through the Customer Chat API.

Design A of reference §10.1: each conversation has its own LiveChat customer identity (``entity_id``),
created with the ``agent_token`` grant and reused on later handoffs. A customer has at most one chat per
license (§3), so a returning customer's chat is resumed rather than started again.

A brand-new customer's handoff costs two round trips: the token grant, then ``update_customer`` (name,
e-mail and session fields together) beside ``start_chat`` carrying the transcript. A returning customer
with a cached token costs one: ``update_customer`` beside ``resume_chat``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from livehandoff.domain.model import HandoffRequest, OpenedChat, QueueInfo, ThreadItem
from livehandoff.errors import ChatInactive, DeskError, InvalidInput
from livehandoff.integrations.livechat import translate, wire
from livehandoff.integrations.livechat.auth import TokenManager
from livehandoff.integrations.livechat.client import LiveChatClient

log = structlog.get_logger(__name__)


def _is_plain_refusal(exc: DeskError) -> bool:
    """LiveChat said no for a reason of its own (not auth, limits, offline groups or an outage).

    The exact ``error.type`` for "this customer already has a chat" (start) and "this chat is already
    active" (resume) is not documented (§3.1, §3.2), so any plain refusal is checked against the chat's
    actual state before giving up.
    """
    return type(exc) is DeskError


class LiveChatDesk:
    """Opens agent chats for handoffs and relays the customer's messages into them."""

    def __init__(
        self,
        client: LiveChatClient,
        *,
        tokens: TokenManager,
        group_id: int,
        max_event_bytes: int = translate.MAX_EVENT_TEXT_BYTES,
    ) -> None:
        self._client = client
        self._tokens = tokens
        self._group_id = group_id
        self._max_event_bytes = max_event_bytes

    # --- AgentDesk -------------------------------------------------------------------------------

    async def open_chat(self, request: HandoffRequest) -> OpenedChat:
        credentials = await self._tokens.customer(request.desk_customer_id)
        customer_id = credentials.entity_id
        bound = log.bind(conversation_id=request.conversation_id, customer_id=customer_id)
        updated, opened = await asyncio.gather(
            self._update_customer(customer_id, request),
            self._open(customer_id, request),
            return_exceptions=True,
        )
        if isinstance(opened, BaseException):
            raise opened
        if isinstance(updated, BaseException):
            await self._details_after_all(customer_id, request, opened, updated)
        chat = opened
        bound.info(
            "livechat.chat_opened",
            chat_id=chat.chat_id,
            thread_id=chat.thread_id,
            resumed=chat.resumed,
            group_id=self._group_id if request.group_id is None else request.group_id,
            transcript_events=len(chat.event_ids),
        )
        return chat

    async def send_message(
        self, *, customer_id: str, chat_id: str, text: str, message_id: str = "", maybe_sent: bool = False
    ) -> list[str]:
        """Send ``text`` as the customer; a text over the size limit goes as several events (their ids).

        Each event carries a ``custom_id`` made from ``message_id``. When an earlier attempt may have
        reached LiveChat (``maybe_sent``: it timed out, or we crashed before noting success), the
        chat's latest thread is read first and the parts already there are not sent again.
        """
        events = translate.message_events(text, self._max_event_bytes, message_id=message_id)
        if not events:
            raise InvalidInput("an empty message cannot be sent to LiveChat")
        arrived: list[str] = []
        if maybe_sent and message_id:
            present = await self._sent_before(customer_id, chat_id)
            arrived = [
                present[custom] for event in events if (custom := event.get("custom_id", "")) in present
            ]
            events = [event for event in events if event.get("custom_id") not in present]
        event_ids = arrived + await self._send_events(customer_id, chat_id, events)
        log.debug("livechat.message_sent", customer_id=customer_id, chat_id=chat_id, events=len(event_ids))
        return event_ids

    async def _sent_before(self, customer_id: str, chat_id: str) -> dict[str, str]:
        """``custom_id`` → event id of what the chat's current thread already holds."""
        chat = await self._get_chat(customer_id, chat_id)
        events = chat.thread.events if chat.thread is not None else []
        return {event.custom_id: event.id for event in events if event.custom_id}

    async def thread_items(self, *, customer_id: str, chat_id: str) -> list[ThreadItem]:
        chat = await self._get_chat(customer_id, chat_id)
        if chat.thread is None:
            return []
        return [
            ThreadItem(
                event_id=event.id,
                kind=event.type,
                author_id=event.author_id,
                text=event.text or "",
                created_at=event.created_at,
                author_name=translate.agent_name(chat, event.author_id) if event.author_id else None,
            )
            for event in chat.thread.events
        ]

    async def close_chat(self, *, customer_id: str, chat_id: str) -> None:
        """Close the chat as the customer; one that is already closed is fine."""
        body: wire.DeactivateChatRequest = {"id": chat_id}
        try:
            await self._tokens.as_customer(customer_id, lambda auth: self._client.deactivate_chat(auth, body))
        except ChatInactive:
            return

    async def queue(self, *, customer_id: str, chat_id: str) -> QueueInfo | None:
        """Where the waiting chat stands, when LiveChat says."""
        chat = await self._get_chat(customer_id, chat_id)
        queue = chat.thread.queue if chat.thread is not None else None
        if queue is None or queue.position is None:
            return None
        return QueueInfo(position=queue.position, wait_seconds=queue.wait_time)

    async def agent_name(self, *, customer_id: str, chat_id: str, agent_id: str) -> str | None:
        chat = await self._get_chat(customer_id, chat_id)
        return translate.agent_name(chat, agent_id)

    # --- opening ---------------------------------------------------------------------------------

    async def _open(self, customer_id: str, request: HandoffRequest) -> OpenedChat:
        events = translate.transcript_events(request, self._max_event_bytes)
        group_id = self._group_id if request.group_id is None else request.group_id
        continuous = request.continuous
        if request.desk_customer_id is None:
            return await self._start(customer_id, group_id, events, continuous)
        if request.desk_chat_id is not None:
            return await self._resume(customer_id, request.desk_chat_id, group_id, events, continuous)
        return await self._start_or_resume(customer_id, group_id, events, continuous)

    async def _details_after_all(
        self, customer_id: str, request: HandoffRequest, chat: OpenedChat, failure: BaseException
    ) -> None:
        """The chat opened but the customer's details (an e-mail left for an offline team, the agent-only
        context) did not reach LiveChat beside it. Try once more; if LiveChat still cannot take them, close
        the chat again and fail the handoff as a whole, rather than leave an agent a chat without them."""
        if not isinstance(failure, DeskError):
            raise failure
        try:
            await self._update_customer(customer_id, request)
        except DeskError:
            log.warning("livechat.customer_update_failed", conversation_id=request.conversation_id)
            await self.close_chat(customer_id=customer_id, chat_id=chat.chat_id)
            raise failure from None

    async def _update_customer(self, customer_id: str, request: HandoffRequest) -> None:
        """Name, e-mail and session fields in one call; a refusal (say, an e-mail LiveChat finds
        invalid) must not cost the customer the handoff, so it is logged and the chat opened anyway."""
        body = translate.customer_update(request)
        try:
            await self._tokens.as_customer(customer_id, lambda auth: self._client.update_customer(auth, body))
        except DeskError as exc:
            if not _is_plain_refusal(exc):
                raise
            log.warning(
                "livechat.customer_update_refused",
                conversation_id=request.conversation_id,
                customer_id=customer_id,
                error_type=exc.error_type,
            )

    async def _start(
        self, customer_id: str, group_id: int, events: Sequence[wire.MessageEvent], continuous: bool = False
    ) -> OpenedChat:
        body = translate.start_chat_request(group_id, events, continuous=continuous)
        started = await self._tokens.as_customer(
            customer_id, lambda auth: self._client.start_chat(auth, body)
        )
        return OpenedChat(
            customer_id=customer_id,
            chat_id=started.chat_id,
            thread_id=started.thread_id,
            event_ids=tuple(started.event_ids),
        )

    async def _start_or_resume(
        self, customer_id: str, group_id: int, events: Sequence[wire.MessageEvent], continuous: bool = False
    ) -> OpenedChat:
        """A returning customer whose chat id we lost: start, and if refused, find the chat and resume it."""
        try:
            return await self._start(customer_id, group_id, events, continuous)
        except DeskError as exc:
            if not _is_plain_refusal(exc):
                raise
            refusal = exc
        chats = await self._tokens.as_customer(
            customer_id, lambda auth: self._client.list_chats(auth, {"limit": 10})
        )
        existing = translate.existing_chat(chats, group_id)
        if existing is None:
            raise refusal
        log.info("livechat.existing_chat_found", customer_id=customer_id, chat_id=existing.id)
        if existing.active and existing.last_thread_id:
            return await self._continue(customer_id, existing.id, existing.last_thread_id, events)
        return await self._resume(customer_id, existing.id, group_id, events, continuous)

    async def _resume(
        self,
        customer_id: str,
        chat_id: str,
        group_id: int,
        events: Sequence[wire.MessageEvent],
        continuous: bool = False,
    ) -> OpenedChat:
        body = translate.resume_chat_request(chat_id, group_id, events, continuous=continuous)
        try:
            resumed = await self._tokens.as_customer(
                customer_id, lambda auth: self._client.resume_chat(auth, body)
            )
        except DeskError as exc:
            if not _is_plain_refusal(exc):
                raise
            thread_id = await self._active_thread(customer_id, chat_id)
            if thread_id is None:
                raise
            return await self._continue(customer_id, chat_id, thread_id, events)
        return OpenedChat(
            customer_id=customer_id,
            chat_id=chat_id,
            thread_id=resumed.thread_id,
            resumed=True,
            event_ids=tuple(resumed.event_ids),
        )

    async def _continue(
        self, customer_id: str, chat_id: str, thread_id: str, events: Sequence[wire.MessageEvent]
    ) -> OpenedChat:
        """The chat is still active: use it, and post the new transcript into it for the agent."""
        log.info("livechat.chat_still_active", customer_id=customer_id, chat_id=chat_id)
        event_ids = await self._send_events(customer_id, chat_id, events)
        return OpenedChat(
            customer_id=customer_id,
            chat_id=chat_id,
            thread_id=thread_id,
            resumed=True,
            event_ids=tuple(event_ids),
        )

    async def _active_thread(self, customer_id: str, chat_id: str) -> str | None:
        try:
            chat = await self._get_chat(customer_id, chat_id)
        except DeskError as exc:
            if not _is_plain_refusal(exc):
                raise
            return None
        return chat.thread.id if chat.thread is not None and chat.thread.active else None

    # --- calls -----------------------------------------------------------------------------------

    async def _send_events(
        self, customer_id: str, chat_id: str, events: Sequence[wire.MessageEvent]
    ) -> list[str]:
        event_ids = []
        for event in events:
            body = translate.send_event_request(chat_id, event)
            event_ids.append(await self._send_event(customer_id, body))
        return event_ids

    async def _send_event(self, customer_id: str, body: wire.SendEventRequest) -> str:
        return await self._tokens.as_customer(customer_id, lambda auth: self._client.send_event(auth, body))

    async def _get_chat(self, customer_id: str, chat_id: str) -> wire.Chat:
        return await self._tokens.as_customer(
            customer_id, lambda auth: self._client.get_chat(auth, {"chat_id": chat_id})
        )
