"""The conversation state machine: one table of transitions and a pure ``decide``.

``decide(conversation, happened, now, policy)`` does no I/O. It takes an *input* (something that happened:
the customer wrote, the bot answered, a desk update arrived, a command's outcome) and returns the next
conversation, the feed events to append to the customer's feed and the commands the bridge must run
through its ports. The outcome of a command comes back as another input. Which turns hand off is
``domain.handoff``'s business. An input without a transition from the current state is returned as
``ignored`` with the reason — never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from livehandoff.domain import feed
from livehandoff.domain.handoff import (
    HandoffPolicy,
    HandoffSignal,
    detect,
    memory_to_restore,
    on_bot_failure,
    return_parameters,
)
from livehandoff.domain.model import (
    BOT_STATES,
    DESK_STATES,
    Agent,
    AgentJoined,
    AgentMessage,
    Author,
    BotTurn,
    ChatEnded,
    Conversation,
    DeskChat,
    Handoff,
    OpenedChat,
    OutboxItem,
    QueueInfo,
    State,
)
from livehandoff.domain.ordering import advance
from livehandoff.domain.texts import is_cancel, say

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

# --- inputs: what happened -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomerSaid:
    """The customer sent a message; it is recorded before anything else happens."""

    message_id: str
    text: str
    route_later: bool = True
    """Queue it for routing (False when the caller routes it at once, as fulfillment mode does)."""


@dataclass(frozen=True, slots=True)
class CustomerMessageDue:
    """A recorded customer message is to be routed to whoever the customer talks to now."""

    message_id: str
    text: str
    maybe_sent: bool = False
    """An earlier attempt began (and failed, or the process died during it): the message may already be
    at LiveChat."""


@dataclass(frozen=True, slots=True)
class DeskDeliveryDeferred:
    """LiveChat could not take the message now; it stays queued and is retried."""

    message_id: str


@dataclass(frozen=True, slots=True)
class DeskSent:
    """The customer's message is in the agent chat, as these events."""

    event_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ThreadSeen:
    """Events of the thread that need no showing (the customer's own, LiveChat's system messages)."""

    event_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeskDelivered:
    """A message that had been queued reached its recipient."""

    message_id: str


@dataclass(frozen=True, slots=True)
class BotAnswered:
    """The bot answered a customer message, or the return-to-bot event."""

    turn: BotTurn
    answering_return_event: bool = False


@dataclass(frozen=True, slots=True)
class BotFailed:
    """The bot could not answer."""

    detail: str


@dataclass(frozen=True, slots=True)
class DeskOpened:
    """The agent chat was started or resumed."""

    chat: OpenedChat
    continuous: bool = False


@dataclass(frozen=True, slots=True)
class DeskRefused:
    """LiveChat refused the handoff or could not be reached; ``offline`` when nobody could take it."""

    detail: str
    offline: bool = False
    signal: HandoffSignal | None = None
    """The handoff that was refused, to try again as a waiting chat."""
    continuous: bool = False
    """The refused attempt was already a waiting chat."""


@dataclass(frozen=True, slots=True)
class CancelRequested:
    """The customer stops waiting for an agent."""


@dataclass(frozen=True, slots=True)
class WaitCheck:
    """Time passed while waiting for an agent; ``queue`` is what LiveChat says now, if anything."""

    queue: QueueInfo | None = None


@dataclass(frozen=True, slots=True)
class DeskDeliveryFailed:
    """A customer message did not reach the agent chat; ``chat_inactive`` when the chat had closed."""

    message_id: str
    text: str
    chat_inactive: bool = False


Input = (
    CustomerSaid
    | CustomerMessageDue
    | BotAnswered
    | BotFailed
    | DeskOpened
    | DeskRefused
    | CancelRequested
    | WaitCheck
    | DeskDeliveryFailed
    | DeskDeliveryDeferred
    | DeskDelivered
    | DeskSent
    | ThreadSeen
    | AgentJoined
    | AgentMessage
    | ChatEnded
)
"""Everything ``decide`` takes: what the customer, the bot and the desk did, and how commands went."""

# --- commands: what the bridge must do -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AskBot:
    """Send the customer's text to the bot."""

    text: str


@dataclass(frozen=True, slots=True)
class OpenDeskChat:
    """Open (or resume) the agent chat with the transcript."""

    signal: HandoffSignal
    continuous: bool = False


@dataclass(frozen=True, slots=True)
class CloseDeskChat:
    """Close the agent chat as the customer: ``chat``, or else the conversation's own."""

    chat: OpenedChat | None = None


@dataclass(frozen=True, slots=True)
class NotifyBot:
    """Tell the bot the agent chat ended (its answer goes to the customer)."""

    event: str
    parameters: Mapping[str, Any]
    memory: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class SendToDesk:
    """Relay the customer's message to the agent chat."""

    message_id: str
    text: str
    maybe_sent: bool = False


Command = AskBot | OpenDeskChat | SendToDesk | NotifyBot | CloseDeskChat


@dataclass(frozen=True, slots=True)
class Decision:
    """What ``decide`` concluded."""

    conversation: Conversation
    events: tuple[feed.Payload, ...] = ()
    """Feed events to append to the customer's feed."""
    commands: tuple[Command, ...] = ()
    ignored: str | None = None
    outbox: tuple[OutboxItem, ...] = ()
    """Customer messages to keep until they are routed, saved with the decision."""


Handler = Callable[[Conversation, Any, datetime, HandoffPolicy], Decision]

# --- helpers that build feed events ----------------------------------------------------------


def _system(conversation: Conversation, key: str, **values: str) -> feed.Message:
    return feed.Message(Author.SYSTEM, say(conversation.language, key, **values), code=key)


def _agent_name(conversation: Conversation, name: str | None = None) -> str:
    agent = conversation.agent
    return name or (agent.name if agent is not None else "") or say(conversation.language, "agent")


# --- transitions -----------------------------------------------------------------------------


def _record_customer(
    conv: Conversation, event: CustomerSaid, now: datetime, policy: HandoffPolicy
) -> Decision:
    recorded = (feed.Message(Author.CUSTOMER, event.text, id=event.message_id),)
    if not event.route_later:
        return Decision(conv, recorded)
    pending = OutboxItem(event.message_id, conv.id, event.text, created_at=now, next_attempt_at=now)
    return Decision(conv, recorded, outbox=(pending,))


def _route_to_bot(
    conv: Conversation, event: CustomerMessageDue | DeskDeliveryFailed, now: datetime, policy: HandoffPolicy
) -> Decision:
    return Decision(conv, commands=(AskBot(event.text),))


def _route_to_desk(
    conv: Conversation, event: CustomerMessageDue, now: datetime, policy: HandoffPolicy
) -> Decision:
    if conv.state is State.HANDOFF_REQUESTED and conv.agent is None and is_cancel(conv.language, event.text):
        return _cancel(conv, CancelRequested(), now, policy)
    return Decision(conv, commands=(SendToDesk(event.message_id, event.text, maybe_sent=event.maybe_sent),))


def _queued(
    conv: Conversation, event: DeskDeliveryDeferred, now: datetime, policy: HandoffPolicy
) -> Decision:
    return Decision(conv, (feed.MessageQueued(event.message_id),))


def _delivered(conv: Conversation, event: DeskDelivered, now: datetime, policy: HandoffPolicy) -> Decision:
    return Decision(conv, (feed.MessageDelivered(event.message_id),))


def _bot_answered(conv: Conversation, event: BotAnswered, now: datetime, policy: HandoffPolicy) -> Decision:
    turn = event.turn
    replies = tuple(
        feed.Message(Author.BOT, reply.text, quick_replies=reply.quick_replies)
        for reply in turn.replies
        if reply.text or reply.quick_replies
    )
    signal = detect(turn, conv, policy, now, answering_return_event=event.answering_return_event)
    streak = conv.fallback_streak + 1 if turn.is_fallback else 0
    nxt = replace(
        conv, fallback_streak=streak, bot_memory=dict(turn.memory) if turn.memory else conv.bot_memory
    )
    if signal is None:
        return Decision(nxt, replies)
    return _hand_off(nxt, signal, now, replies)


def _hand_off(
    conv: Conversation, signal: HandoffSignal, now: datetime, before: tuple[feed.Payload, ...]
) -> Decision:
    nxt = replace(
        conv,
        state=State.HANDOFF_REQUESTED,
        handoff=Handoff(signal.reason, started_at=now),
        fallback_streak=0,
    )
    events = (
        *before,
        feed.HandoffRequested(nxt.state, signal.reason, signal.trigger),
        _system(nxt, "connecting"),
    )
    return Decision(nxt, events, (OpenDeskChat(signal),))


def _bot_failed(conv: Conversation, event: BotFailed, now: datetime, policy: HandoffPolicy) -> Decision:
    signal = on_bot_failure(conv, policy, now)
    if signal is not None:
        return _hand_off(conv, signal, now, ())
    return Decision(conv, (_system(conv, "bot_failed"),))


def _desk_opened(conv: Conversation, event: DeskOpened, now: datetime, policy: HandoffPolicy) -> Decision:
    opened = event.chat
    chat = DeskChat(
        customer_id=opened.customer_id,
        chat_id=opened.chat_id,
        continuous=event.continuous,
        cursor=advance(None, opened.event_ids),
    )
    nxt = replace(conv, chat=chat)
    return Decision(nxt, (feed.WaitingForAgent(nxt.state),))


def _desk_opened_too_late(
    conv: Conversation, event: DeskOpened, now: datetime, policy: HandoffPolicy
) -> Decision:
    """The chat opened after the customer stopped waiting for it (cancelled, or gave up) while the desk
    was still answering: nobody will come back to it, so it is closed rather than left for an agent.

    Not with an agent: a returning customer's resumed chat can have its agent join (the webhook names the
    known chat) before ``resume_chat`` answers, and that chat is the one in use."""
    return Decision(conv, commands=(CloseDeskChat(event.chat),))


def _desk_refused(conv: Conversation, event: DeskRefused, now: datetime, policy: HandoffPolicy) -> Decision:
    """Nobody online: per policy, open a chat that waits ("leave a message"), ask for an e-mail first,
    or let the bot carry on. Any other refusal, or a waiting chat refused too, leaves the customer with
    the bot."""
    if event.offline and not event.continuous and event.signal is not None:
        if policy.when_offline == "leave_message":
            return Decision(
                conv, (_system(conv, "leave_message"),), (OpenDeskChat(event.signal, continuous=True),)
            )
        if policy.when_offline == "ask_email":
            nxt = replace(conv, state=State.AWAITING_EMAIL)
            return Decision(nxt, (feed.AwaitingEmail(nxt.state), _system(nxt, "ask_email")))
    nxt = replace(conv, state=State.HANDOFF_FAILED)
    key = "handoff_offline" if event.offline else "handoff_failed"
    reason = "offline" if event.offline else "unavailable"
    return Decision(nxt, (feed.HandoffFailed(nxt.state, reason), _system(nxt, key)))


def _email_or_bot(
    conv: Conversation, event: CustomerMessageDue, now: datetime, policy: HandoffPolicy
) -> Decision:
    """An e-mail address opens a waiting chat for the agents; anything else goes back to the bot."""
    email = event.text.strip()
    if not EMAIL.fullmatch(email):
        nxt = replace(conv, state=State.HANDOFF_FAILED)
        return Decision(nxt, (feed.HandoffFailed(nxt.state, "offline"),), (AskBot(event.text),))
    signal = HandoffSignal("left_email", f"nobody was available; the customer left {email}")
    nxt = replace(conv, state=State.HANDOFF_REQUESTED, customer=replace(conv.customer, email=email))
    events = (
        feed.HandoffRequested(nxt.state, signal.reason, signal.trigger),
        _system(nxt, "email_thanks", email=email),
    )
    return Decision(nxt, events, (OpenDeskChat(signal, continuous=True),))


def _handoff_over(conv: Conversation, now: datetime, state: State) -> Conversation:
    """``conv`` in ``state`` with the handoff ended at ``now``: nobody waits in a queue, no agent talks."""
    handoff = conv.handoff if conv.handoff is not None else Handoff("", started_at=now)
    chat = conv.chat if conv.chat is None else replace(conv.chat, agent=None, queue_position=None)
    return replace(conv, state=state, handoff=replace(handoff, ended_at=now), chat=chat)


def _cancel(conv: Conversation, event: CancelRequested, now: datetime, policy: HandoffPolicy) -> Decision:
    nxt = _handoff_over(conv, now, State.ENDED)
    commands: tuple[Command, ...] = (
        (CloseDeskChat(),) if conv.chat is not None and conv.state is State.HANDOFF_REQUESTED else ()
    )
    return Decision(nxt, (feed.HandoffCancelled(nxt.state), _system(nxt, "cancelled")), commands)


def _wait_check(conv: Conversation, event: WaitCheck, now: datetime, policy: HandoffPolicy) -> Decision:
    """The maximum wait sends the customer back to the bot; otherwise a new queue position is shown."""
    waited = (now - conv.handoff.started_at).total_seconds() if conv.handoff is not None else 0.0
    continuous = conv.chat is not None and conv.chat.continuous
    if policy.max_wait_seconds > 0 and not continuous and waited >= policy.max_wait_seconds:
        nxt = _handoff_over(conv, now, State.HANDOFF_FAILED)
        events = (feed.HandoffFailed(nxt.state, "no_agent_in_time"), _system(nxt, "wait_expired"))
        return Decision(nxt, events, (CloseDeskChat(),))
    queue = event.queue
    if queue is None or conv.chat is None or queue.position == conv.chat.queue_position:
        return Decision(conv)
    nxt = replace(conv, chat=replace(conv.chat, queue_position=queue.position))
    return Decision(nxt, (feed.QueuePosition(queue.position, queue.wait_seconds),))


def _agent_joined(conv: Conversation, event: AgentJoined, now: datetime, policy: HandoffPolicy) -> Decision:
    if conv.chat is None:
        return _ignore(conv, event, now, policy)
    name = event.agent_name or say(conv.language, "agent")
    nxt = replace(conv, state=State.AGENT, chat=replace(conv.chat, agent=Agent(event.agent_id, name)))
    return Decision(
        nxt,
        (feed.AgentJoined(nxt.state, feed.AgentName(name)), _system(nxt, "agent_joined", agent=name)),
    )


def _agent_message(conv: Conversation, event: AgentMessage, now: datetime, policy: HandoffPolicy) -> Decision:
    if conv.chat is None:
        return _ignore(conv, event, now, policy)
    name = _agent_name(conv, event.agent_name)
    chat = _handled(conv.chat, (event.event_id,))
    if chat.agent is None:
        chat = replace(chat, agent=Agent(event.agent_id, name))
    nxt = replace(conv, state=State.AGENT, chat=chat)
    return Decision(nxt, (feed.Message(Author.AGENT, event.text, name=name),))


def _thread_handled(
    conv: Conversation, event: DeskSent | ThreadSeen, now: datetime, policy: HandoffPolicy
) -> Decision:
    if conv.chat is None:
        return Decision(conv)
    return Decision(replace(conv, chat=_handled(conv.chat, event.event_ids)))


def _handled(chat: DeskChat, event_ids: tuple[str, ...]) -> DeskChat:
    """``chat`` with its thread cursor moved over ``event_ids`` (see ``domain.ordering``)."""
    cursor = advance(chat.cursor, event_ids)
    return replace(chat, cursor=cursor) if cursor is not None else chat


def _chat_ended(conv: Conversation, event: ChatEnded, now: datetime, policy: HandoffPolicy) -> Decision:
    if conv.chat is None or event.chat_id != conv.chat.chat_id:
        return _ignore(conv, event, now, policy)
    if event.closed_by is None:
        closed_by, key = "system", "ended_by_system"
    elif event.closed_by == conv.chat.customer_id:
        closed_by, key = "customer", "ended_by_customer"
    else:
        closed_by, key = "agent", "ended_by_agent"
    agent = _agent_name(conv)
    nxt = _handoff_over(conv, now, State.ENDED)
    commands: tuple[Command, ...] = ()
    if policy.bot_return_event:
        parameters = return_parameters(conv, closed_by, now)
        commands = (NotifyBot(policy.bot_return_event, parameters, memory_to_restore(conv, policy, now)),)
    return Decision(nxt, (feed.HandoffEnded(nxt.state, closed_by), _system(conv, key, agent=agent)), commands)


def _delivery_failed(
    conv: Conversation, event: DeskDeliveryFailed, now: datetime, policy: HandoffPolicy
) -> Decision:
    if not event.chat_inactive:
        return Decision(conv, (_system(conv, "not_delivered"),))
    # The chat closed before our message got there (its webhook may still be on its way): the
    # agent is gone, so the bot takes the conversation back and answers this very message.
    chat_id = conv.chat.chat_id if conv.chat is not None else ""
    ended = _chat_ended(conv, ChatEnded(chat_id, "", closed_by=None), now, policy)
    return Decision(ended.conversation, ended.events, (*ended.commands, AskBot(event.text)))


def _ignore(conv: Conversation, happened: object, now: datetime, policy: HandoffPolicy) -> Decision:
    return Decision(
        conv, ignored=f"{type(happened).__name__} has no transition from state {conv.state.value}"
    )


TRANSITIONS: dict[tuple[State, type[Any]], Handler] = {}


def _add(states: frozenset[State] | set[State], input_type: type[Any], handler: Handler) -> None:
    for state in states:
        TRANSITIONS[(state, input_type)] = handler


_add(set(State), CustomerSaid, _record_customer)
_add(set(State), DeskDeliveryDeferred, _queued)
_add(set(State), DeskDelivered, _delivered)
_add(BOT_STATES, CustomerMessageDue, _route_to_bot)
_add({State.AWAITING_EMAIL}, CustomerMessageDue, _email_or_bot)
_add({State.HANDOFF_REQUESTED, State.AWAITING_EMAIL}, CancelRequested, _cancel)
_add({State.HANDOFF_REQUESTED}, WaitCheck, _wait_check)
_add(DESK_STATES, CustomerMessageDue, _route_to_desk)
_add(BOT_STATES, BotAnswered, _bot_answered)
_add(BOT_STATES, BotFailed, _bot_failed)
_add({State.HANDOFF_REQUESTED}, DeskOpened, _desk_opened)
_add(set(State) - {State.HANDOFF_REQUESTED, State.AGENT}, DeskOpened, _desk_opened_too_late)
_add({State.HANDOFF_REQUESTED}, DeskRefused, _desk_refused)
_add(DESK_STATES, AgentJoined, _agent_joined)
_add(DESK_STATES, AgentMessage, _agent_message)
_add(set(State), DeskSent, _thread_handled)
_add(set(State), ThreadSeen, _thread_handled)
_add(DESK_STATES, ChatEnded, _chat_ended)
_add(DESK_STATES, DeskDeliveryFailed, _delivery_failed)


DEFAULT_POLICY = HandoffPolicy()


def decide(
    conversation: Conversation, happened: Input, now: datetime, policy: HandoffPolicy = DEFAULT_POLICY
) -> Decision:
    """Apply the input ``happened`` to ``conversation`` at time ``now`` under ``policy``."""
    handler = TRANSITIONS.get((conversation.state, type(happened)), _ignore)
    return handler(conversation, happened, now, policy)
