"""The conversation and the facts that move it, as frozen values.

Nothing here knows Dialogflow's or LiveChat's wire shapes: integrations translate their payloads into
these types (``BotTurn``, ``DeskUpdate``) and back (``HandoffRequest``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from livehandoff.domain.ordering import ThreadCursor


class State(StrEnum):
    """Where a conversation is. See the diagram in docs/architecture.md."""

    BOT = "bot"
    """The bot answers the customer."""
    HANDOFF_REQUESTED = "handoff_requested"
    """A LiveChat chat is being opened or waits for an agent; customer messages go to LiveChat."""
    AGENT = "agent"
    """An agent has joined; messages are relayed both ways."""
    AWAITING_EMAIL = "awaiting_email"
    """Nobody is online; the customer is asked for an e-mail address to leave with the agents."""
    ENDED = "ended"
    """The agent chat ended; the bot answers again."""
    HANDOFF_FAILED = "handoff_failed"
    """LiveChat refused or could not be reached; the customer was told and stays with the bot."""


BOT_STATES = frozenset({State.BOT, State.ENDED, State.HANDOFF_FAILED})
DESK_STATES = frozenset({State.HANDOFF_REQUESTED, State.AGENT})


class Author(StrEnum):
    """Who wrote a message in the customer's feed."""

    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """What the customer told us about themselves (both optional)."""

    name: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent of the desk, as the customer is shown them."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class DeskChat:
    """The agent chat a conversation has on the desk (LiveChat), or had last.

    It stays after the chat ended: a returning customer keeps the desk's customer identity and resumes
    the same chat.
    """

    customer_id: str
    """The desk's id of the customer (LiveChat's ``entity_id``)."""
    chat_id: str
    continuous: bool = False
    """The chat waits for an agent however long it takes (no maximum wait)."""
    cursor: ThreadCursor | None = None
    """What of the chat's current thread has been handled (see ``domain.ordering``)."""
    agent: Agent | None = None
    """The agent talking to the customer; None while waiting and after the chat ended."""
    queue_position: int | None = None
    """The waiting customer's last known place in the queue."""


@dataclass(frozen=True, slots=True)
class Handoff:
    """The current or last handoff: why it started, and when it started and ended."""

    reason: str
    started_at: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    """One customer's conversation with the bot and, at times, with agents."""

    id: str
    token_hash: str
    state: State
    language: str
    bot_session_id: str
    created_at: datetime
    customer: CustomerProfile = field(default_factory=CustomerProfile)
    page_url: str | None = None
    version: int = 0
    last_seq: int = 0
    handoff: Handoff | None = None
    chat: DeskChat | None = None
    fallback_streak: int = 0
    """Fallback answers in a row; a configured number of them hands off."""
    delivered_seq: int = 0
    """Fulfillment mode: the last feed event already shown in Dialogflow's own front end."""
    bot_memory: Mapping[str, Any] | None = None
    """The bot's state after its last turn (ES contexts, CX session parameters), restored after a long
    agent chat."""

    @property
    def agent(self) -> Agent | None:
        """The agent the customer talks to, if any."""
        return None if self.chat is None else self.chat.agent


# --- what the bot said -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BotReply:
    """One message of the bot to show the customer."""

    text: str
    quick_replies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BotTurn:
    """The bot's answer to one customer message, with the facts that may signal a handoff."""

    replies: tuple[BotReply, ...]
    intent: str = ""
    action: str = ""
    live_agent_handoff: bool = False
    end_interaction: bool = False
    is_fallback: bool = False
    payloads: tuple[Mapping[str, Any], ...] = ()
    """Custom payloads of the turn, as plain JSON objects (handoff markers live here)."""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    handoff_metadata: Mapping[str, Any] = field(default_factory=dict)
    """CX ``liveAgentHandoff.metadata`` (routing hints such as a group), empty otherwise."""
    memory: Mapping[str, Any] = field(default_factory=dict)
    """What the bot remembers after this turn (ES ``outputContexts``, CX session parameters)."""


# --- what travels to the agent desk ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One line of the conversation so far, for the agent."""

    author: Author
    text: str
    at: datetime
    name: str | None = None


@dataclass(frozen=True, slots=True)
class HandoffRequest:
    """Everything the desk needs to open (or resume) the agent chat for a conversation."""

    conversation_id: str
    bot_session_id: str
    language: str
    reason: str
    customer: CustomerProfile
    transcript: tuple[TranscriptLine, ...]
    desk_customer_id: str | None = None
    """Set for a returning customer: reuse the identity, resume the existing chat."""
    desk_chat_id: str | None = None
    group_id: int | None = None
    page_url: str | None = None
    context: Mapping[str, str] = field(default_factory=dict)
    """Agent-only facts (trigger, intent, routing hints), shown with the customer's details."""
    continuous: bool = False
    """Open a chat that waits for an agent even when nobody is online ("leave a message")."""


@dataclass(frozen=True, slots=True)
class QueueInfo:
    """Where a waiting chat stands in the agents' queue."""

    position: int
    wait_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class OpenedChat:
    """The agent chat as the desk opened (or resumed) it."""

    customer_id: str
    chat_id: str
    thread_id: str
    resumed: bool = False
    event_ids: tuple[str, ...] = ()
    """Ids of the events the chat was opened with (the transcript)."""


@dataclass(frozen=True, slots=True)
class ThreadItem:
    """An event of the chat's current thread, as the customer's side of the desk sees it."""

    event_id: str
    kind: str
    author_id: str | None = None
    text: str = ""
    created_at: datetime | None = None
    author_name: str | None = None


# --- desk updates: what the desk told us (translated from webhooks) ----------------------------


@dataclass(frozen=True, slots=True)
class AgentMessage:
    """An agent wrote to the customer."""

    chat_id: str
    event_id: str
    agent_id: str
    text: str
    created_at: datetime
    agent_name: str | None = None

    @property
    def key(self) -> str:
        return f"event:{self.chat_id}:{self.event_id}"


@dataclass(frozen=True, slots=True)
class AgentJoined:
    """An agent was added to the chat."""

    chat_id: str
    thread_id: str
    agent_id: str
    agent_name: str

    @property
    def key(self) -> str:
        return f"joined:{self.chat_id}:{self.thread_id}:{self.agent_id}"


@dataclass(frozen=True, slots=True)
class ChatEnded:
    """The chat's thread was closed. ``closed_by`` is the user id, or None when LiveChat closed it."""

    chat_id: str
    thread_id: str
    closed_by: str | None = None

    @property
    def key(self) -> str:
        return f"ended:{self.chat_id}:{self.thread_id}"


DeskUpdate = AgentMessage | AgentJoined | ChatEnded
"""A LiveChat webhook, translated."""

_DESK_UPDATES: dict[str, type[AgentMessage] | type[AgentJoined] | type[ChatEnded]] = {
    "agent_message": AgentMessage,
    "agent_joined": AgentJoined,
    "chat_ended": ChatEnded,
}


def desk_update_to_json(event: DeskUpdate) -> dict[str, Any]:
    """A desk update as plain JSON, for keeping it in the store until its chat is known."""
    kind = next(name for name, cls in _DESK_UPDATES.items() if isinstance(event, cls))
    data: dict[str, Any] = {"kind": kind}
    for name in event.__dataclass_fields__:
        value = getattr(event, name)
        data[name] = value.isoformat() if isinstance(value, datetime) else value
    return data


def desk_update_from_json(data: Mapping[str, Any]) -> DeskUpdate:
    """The inverse of ``desk_update_to_json``."""
    fields = {key: value for key, value in data.items() if key != "kind"}
    cls = _DESK_UPDATES[str(data["kind"])]
    if cls is AgentMessage:
        fields["created_at"] = datetime.fromisoformat(str(fields["created_at"]))
    return cls(**fields)


# --- the customer's messages on their way ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A customer message accepted but not yet routed: kept until the bot or LiveChat has it."""

    message_id: str
    conversation_id: str
    text: str
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    started: bool = False
    """An attempt began; after a crash it may have reached LiveChat without us knowing."""
    held: bool = False
    """The customer was told that it waits (``message_queued``); they are told when it arrives."""
    id: int | None = None
