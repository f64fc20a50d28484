"""The customer's feed: one kind enum and one frozen value per kind of feed event.

A feed event is what a customer's client reads from ``GET /v1/conversations/{id}/events``: the messages
of the conversation and the changes of its state. Each kind has exactly one definition here; the state
machine builds them, the store keeps them, and the web edge documents them in ``/openapi.json`` from
these classes. On the wire an event is its fields plus ``type`` (the kind), ``seq`` and ``created_at``;
an optional field left at its default is not sent.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from livehandoff.domain.model import Author, State


class FeedKind(enum.StrEnum):
    """The ``type`` of a feed event."""

    MESSAGE = "message"
    MESSAGE_QUEUED = "message_queued"
    MESSAGE_DELIVERED = "message_delivered"
    HANDOFF_REQUESTED = "handoff_requested"
    WAITING_FOR_AGENT = "waiting_for_agent"
    QUEUE_POSITION = "queue_position"
    AWAITING_EMAIL = "awaiting_email"
    AGENT_JOINED = "agent_joined"
    HANDOFF_ENDED = "handoff_ended"
    HANDOFF_FAILED = "handoff_failed"
    HANDOFF_CANCELLED = "handoff_cancelled"


@dataclass(frozen=True, slots=True)
class Message:
    """A message the customer sees: their own, the bot's, an agent's, or one of livehandoff's."""

    kind: ClassVar[FeedKind] = FeedKind.MESSAGE
    author: Author
    text: str
    id: str | None = None
    """The customer's messages: the id the post was answered with."""
    name: str | None = None
    """Agents' messages: the agent's display name."""
    code: str | None = None
    """livehandoff's own messages (author ``system``): what it says as a stable key (``agent_joined``…)."""
    quick_replies: tuple[str, ...] = ()
    """Bot messages: answers the customer can pick."""


@dataclass(frozen=True, slots=True)
class MessageQueued:
    """The customer's message cannot reach the agent now; it is kept and sent as soon as it can be."""

    kind: ClassVar[FeedKind] = FeedKind.MESSAGE_QUEUED
    message_id: str


@dataclass(frozen=True, slots=True)
class MessageDelivered:
    """A message that had been queued reached the agent (or the bot)."""

    kind: ClassVar[FeedKind] = FeedKind.MESSAGE_DELIVERED
    message_id: str


@dataclass(frozen=True, slots=True)
class HandoffRequested:
    """The conversation is being handed to an agent."""

    kind: ClassVar[FeedKind] = FeedKind.HANDOFF_REQUESTED
    state: State
    reason: str
    trigger: str
    """What asked for the handoff: ``live_agent_handoff``, ``payload``, ``intent_name``, ``fallbacks``,
    ``bot_error`` or ``left_email``."""


@dataclass(frozen=True, slots=True)
class WaitingForAgent:
    """The agent chat is open; the customer waits for an agent to join."""

    kind: ClassVar[FeedKind] = FeedKind.WAITING_FOR_AGENT
    state: State


@dataclass(frozen=True, slots=True)
class QueuePosition:
    """Where the waiting customer stands in the agents' queue."""

    kind: ClassVar[FeedKind] = FeedKind.QUEUE_POSITION
    position: int
    wait_seconds: int | None
    """LiveChat's estimate of the wait, when it has one."""


@dataclass(frozen=True, slots=True)
class AwaitingEmail:
    """Nobody is online; the customer is asked for an e-mail address."""

    kind: ClassVar[FeedKind] = FeedKind.AWAITING_EMAIL
    state: State


@dataclass(frozen=True, slots=True)
class AgentName:
    """How an agent is shown to the customer."""

    name: str


@dataclass(frozen=True, slots=True)
class AgentJoined:
    """An agent joined the chat."""

    kind: ClassVar[FeedKind] = FeedKind.AGENT_JOINED
    state: State
    agent: AgentName


@dataclass(frozen=True, slots=True)
class HandoffEnded:
    """The agent chat ended; the bot answers again."""

    kind: ClassVar[FeedKind] = FeedKind.HANDOFF_ENDED
    state: State
    closed_by: str
    """``agent``, ``customer`` or ``system`` (LiveChat closed it, e.g. after inactivity)."""


@dataclass(frozen=True, slots=True)
class HandoffFailed:
    """No agent chat: LiveChat refused or was unreachable, nobody was online, or nobody came in time."""

    kind: ClassVar[FeedKind] = FeedKind.HANDOFF_FAILED
    state: State
    reason: str
    """``unavailable``, ``offline`` or ``no_agent_in_time``."""


@dataclass(frozen=True, slots=True)
class HandoffCancelled:
    """The customer stopped waiting for an agent."""

    kind: ClassVar[FeedKind] = FeedKind.HANDOFF_CANCELLED
    state: State


Payload = (
    Message
    | MessageQueued
    | MessageDelivered
    | HandoffRequested
    | WaitingForAgent
    | QueuePosition
    | AwaitingEmail
    | AgentJoined
    | HandoffEnded
    | HandoffFailed
    | HandoffCancelled
)
"""What a feed event says, without its place in the feed."""

PAYLOADS: Mapping[FeedKind, type[Payload]] = {cls.kind: cls for cls in typing.get_args(Payload)}
"""The one class of each kind."""


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """A stored event of a conversation's feed, numbered from 1 without gaps."""

    seq: int
    payload: Payload
    created_at: datetime

    @property
    def kind(self) -> FeedKind:
        return self.payload.kind

    def as_json(self) -> dict[str, Any]:
        """The JSON object the customer API shows for this event."""
        return {
            "seq": self.seq,
            "type": self.kind.value,
            **payload_data(self.payload),
            "created_at": self.created_at.isoformat(),
        }


# --- to and from plain JSON (the store and the web edge) ------------------------------------------


def payload_data(payload: Payload) -> dict[str, Any]:
    """The payload's fields as plain JSON; optional fields left at their defaults are left out."""
    return _data(payload)


def payload_from_data(kind: str, data: Mapping[str, Any]) -> Payload:
    """The inverse of ``payload_data`` for a stored event of ``kind``; unknown keys are ignored.

    Raises ``ValueError`` for an unknown kind or data that does not fit it.
    """
    try:
        cls = PAYLOADS[FeedKind(kind)]
    except ValueError as exc:
        raise ValueError(f"unknown feed event kind {kind!r}") from exc
    built: Payload = _build(cls, data)
    return built


def _data(value: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for item in dataclasses.fields(value):
        current = getattr(value, item.name)
        if _is_default(item, current):
            continue
        data[item.name] = _plain(current)
    return data


def _is_default(item: dataclasses.Field[Any], current: Any) -> bool:
    if item.default is not dataclasses.MISSING:
        return bool(current == item.default)
    return False


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _data(value)
    return value


def _build(cls: type[Any], data: Mapping[str, Any]) -> Any:
    hints = _hints(cls)
    values = {
        item.name: _typed(hints[item.name], data[item.name])
        for item in dataclasses.fields(cls)
        if item.name in data
    }
    try:
        return cls(**values)
    except TypeError as exc:
        raise ValueError(f"{cls.__name__}: {exc}") from exc


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _typed(hint: Any, value: Any) -> Any:
    """``value`` read back as ``hint``: enums, tuples and nested values from their JSON forms."""
    if value is None:
        return None
    options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(options) == 1:
        hint = options[0]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if typing.get_origin(hint) is tuple:
        return tuple(value)
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return _build(hint, value)  # type: ignore[arg-type]
    return value
