"""Pure translation between livehandoff's domain and LiveChat's wire shapes.

Outbound: a ``HandoffRequest`` becomes customer fields, session fields and the transcript as message
events authored by the customer (design A, reference §10.1). Inbound: webhook payloads become
``DeskUpdate`` values. No I/O, no clock; validation failures raise ``InvalidInput``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from livehandoff.domain.model import (
    AgentJoined,
    AgentMessage,
    Author,
    ChatEnded,
    DeskUpdate,
    HandoffRequest,
    TranscriptLine,
)
from livehandoff.errors import InvalidInput
from livehandoff.integrations.livechat import wire

MAX_EVENT_TEXT_BYTES = 16_000
"""LiveChat refuses message text over 16 KB (§3.3); we stay a little under it."""

MAX_SESSION_FIELDS = 100

TRANSCRIPT_HEADING = "Conversation with the bot before the handoff"

TRANSCRIPT_ID = "livehandoff:transcript"
"""The ``custom_id`` of the transcript's events (``livehandoff:transcript:<n>`` for the parts of a long one).

It, not the heading, is what marks a transcript: a customer's text may begin with the heading, but their
messages carry the message id the bridge chose (``msg_…``), so no customer can send an event with this
mark. (An event property of our app would do as well, but a property must be registered with
``register_property`` before it can be set, reference §6.4; a ``custom_id`` needs nothing, §6.2.)"""

_LABELS = {Author.CUSTOMER: "Customer", Author.BOT: "Bot", Author.AGENT: "Agent", Author.SYSTEM: "System"}

M = TypeVar("M", bound=BaseModel)


# --- the customer --------------------------------------------------------------------------------


def session_fields(request: HandoffRequest) -> list[dict[str, str]]:
    """Facts the agent sees in the customer's details panel; single-key objects, order kept (§3.7)."""
    pairs = (
        ("livehandoff_conversation", request.conversation_id),
        ("dialogflow_session", request.bot_session_id),
        ("language", request.language),
        ("handoff_reason", request.reason),
        ("page_url", request.page_url),
        *request.context.items(),
    )
    fields: dict[str, str] = {}
    for key, value in pairs:
        if value and key not in fields:
            fields[key] = value
    return [{key: value} for key, value in fields.items()][:MAX_SESSION_FIELDS]


def customer_update(request: HandoffRequest) -> wire.UpdateCustomerRequest:
    """One ``update_customer`` body: name and e-mail when known, and the session fields."""
    body: wire.UpdateCustomerRequest = {}
    if request.customer.name:
        body["name"] = request.customer.name
    if request.customer.email:
        body["email"] = request.customer.email
    fields = session_fields(request)
    if fields:
        body["session_fields"] = fields
    return body


# --- the transcript ------------------------------------------------------------------------------


def transcript_text(request: HandoffRequest) -> str:
    """The transcript as one text: a heading, then one ``Who: what`` line per message; "" if empty."""
    if not request.transcript:
        return ""
    heading = f"{TRANSCRIPT_HEADING} (reason: {request.reason})" if request.reason else TRANSCRIPT_HEADING
    return "\n".join([heading, *(format_line(line) for line in request.transcript)])


def format_line(line: TranscriptLine) -> str:
    label = _LABELS.get(line.author, str(line.author).capitalize())
    if line.name:
        label = f"{label} ({line.name})"
    return f"{label}: {line.text}"


def split_text(text: str, max_bytes: int = MAX_EVENT_TEXT_BYTES) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_bytes`` UTF-8 bytes, losing nothing.

    ``"".join(pieces) == text``. A piece ends after the last line break that fits, else after the last
    whitespace, else at the last whole character that fits (a code point is never cut in two).
    """
    if max_bytes < 4:
        raise ValueError("max_bytes must leave room for one character")
    pieces: list[str] = []
    rest = text
    while rest:
        cut = _cut_point(rest, max_bytes)
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return pieces


def _cut_point(text: str, max_bytes: int) -> int:
    fits = _fitting_chars(text, max_bytes)
    if fits >= len(text):
        return len(text)
    window = text[:fits]
    newline = window.rfind("\n")
    if newline > 0:
        return newline + 1
    space = max(window.rfind(" "), window.rfind("\t"))
    return space + 1 if space > 0 else fits


def _fitting_chars(text: str, max_bytes: int) -> int:
    """How many leading characters of ``text`` fit in ``max_bytes`` UTF-8 bytes."""
    head = text[:max_bytes]
    encoded = head.encode()
    if len(encoded) <= max_bytes:
        return len(head)
    return len(encoded[:max_bytes].decode(errors="ignore"))


def message_events(
    text: str, max_bytes: int = MAX_EVENT_TEXT_BYTES, *, message_id: str = ""
) -> list[wire.MessageEvent]:
    """``message`` events carrying ``text``, split to fit; the line break a piece ends on is dropped.

    With a ``message_id`` each event gets a ``custom_id`` (``<id>``, or ``<id>:<n>`` for the n-th part), by
    which a retry recognises what already arrived.
    """
    pieces = [piece.removesuffix("\n") for piece in split_text(text, max_bytes)]
    pieces = [piece for piece in pieces if piece.strip()]
    events: list[wire.MessageEvent] = [{"type": "message", "text": piece} for piece in pieces]
    if message_id:
        for index, event in enumerate(events):
            event["custom_id"] = message_id if len(events) == 1 else f"{message_id}:{index}"
    return events


def transcript_events(
    request: HandoffRequest, max_bytes: int = MAX_EVENT_TEXT_BYTES
) -> list[wire.MessageEvent]:
    """The transcript as ``message`` events, each marked with ``TRANSCRIPT_ID``."""
    return message_events(transcript_text(request), max_bytes, message_id=TRANSCRIPT_ID)


# --- chat requests -------------------------------------------------------------------------------


def start_chat_request(
    group_id: int, events: Sequence[wire.MessageEvent], *, continuous: bool = False
) -> wire.StartChatRequest:
    """``continuous`` starts a chat that waits for an agent even when nobody is online (§3.1)."""
    chat: wire.ChatBody = {"access": {"group_ids": [group_id]}}
    if events:
        chat["thread"] = {"events": list(events)}
    body: wire.StartChatRequest = {"chat": chat}
    if continuous:
        body["continuous"] = True
    return body


def resume_chat_request(
    chat_id: str, group_id: int, events: Sequence[wire.MessageEvent], *, continuous: bool = False
) -> wire.ResumeChatRequest:
    chat: wire.ChatBody = {"id": chat_id, "access": {"group_ids": [group_id]}}
    if events:
        chat["thread"] = {"events": list(events)}
    body: wire.ResumeChatRequest = {"chat": chat}
    if continuous:
        body["continuous"] = True
    return body


def send_event_request(chat_id: str, event: wire.MessageEvent) -> wire.SendEventRequest:
    return {"chat_id": chat_id, "event": event}


def existing_chat(chats: wire.ListChatsResponse, group_id: int) -> wire.ChatSummary | None:
    """The customer's chat to resume: the one routed to ``group_id`` if several, else the newest."""
    for chat in chats.chats_summary:
        if chat.access is not None and group_id in chat.access.group_ids:
            return chat
    return chats.chats_summary[0] if chats.chats_summary else None


def agent_name(chat: wire.Chat, agent_id: str) -> str | None:
    for user in chat.users:
        if user.id == agent_id and user.type == "agent":
            return user.name or None
    return None


# --- webhooks ------------------------------------------------------------------------------------


def desk_event(action: str, payload: Mapping[str, Any]) -> DeskUpdate | None:
    """The domain event a webhook stands for; None for actions and events the bridge ignores."""
    translator = _TRANSLATORS.get(action)
    return None if translator is None else translator(payload)


def _incoming_event(payload: Mapping[str, Any]) -> DeskUpdate | None:
    data = _validate(wire.IncomingEventPayload, payload, "incoming_event")
    event = data.event
    if event.type != "message" or "agents" in (event.visibility, event.recipients):
        return None
    if event.author_id is None or event.text is None or event.created_at is None:
        raise InvalidInput("incoming_event: a message event needs author_id, text and created_at")
    if not event.text:
        return None  # nothing left to show once NUL characters are gone (wire.without_nul)
    return AgentMessage(
        chat_id=data.chat_id,
        event_id=event.id,
        agent_id=event.author_id,
        text=event.text,
        created_at=event.created_at.astimezone(UTC),
    )


def _user_added_to_chat(payload: Mapping[str, Any]) -> DeskUpdate | None:
    """An agent joined; customers, and agents added as agents-only (silent supervisors), are ignored."""
    data = _validate(wire.UserAddedToChatPayload, payload, "user_added_to_chat")
    if data.user.type != "agent" or data.user.visibility == "agents":
        return None
    return AgentJoined(
        chat_id=data.chat_id,
        thread_id=data.thread_id or "",
        agent_id=data.user.id,
        agent_name=data.user.name or "",
    )


def _chat_deactivated(payload: Mapping[str, Any]) -> DeskUpdate | None:
    """``user_id`` is absent when LiveChat's router closed the thread (e.g. inactivity)."""
    data = _validate(wire.ChatDeactivatedPayload, payload, "chat_deactivated")
    return ChatEnded(chat_id=data.chat_id, thread_id=data.thread_id, closed_by=data.user_id or None)


_TRANSLATORS: dict[str, Callable[[Mapping[str, Any]], DeskUpdate | None]] = {
    "incoming_event": _incoming_event,
    "user_added_to_chat": _user_added_to_chat,
    "chat_deactivated": _chat_deactivated,
}


def _validate(model: type[M], payload: Mapping[str, Any], what: str) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInput(f"{what}: invalid payload ({describe_errors(exc)})") from exc


def describe_errors(exc: ValidationError) -> str:
    """Where and why validation failed, without the offending values (they may be customer data)."""
    problems = (
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)
    )
    return "; ".join(problems)
