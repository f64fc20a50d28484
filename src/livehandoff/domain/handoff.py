"""Pure rules: does this bot turn ask for a human, where should the chat go, and what travels with it?

Every handoff trigger lives here, checked in one order:

1. ``liveAgentHandoff`` — CX's response message (with its ``metadata``) or an ES intent's flag;
2. a custom payload marker — ours ``{"livehandoff": {"action": "handoff"}}``, Chatwoot's
   ``{"action": "handoff"}``, Kommunicate's ``metadata.KM_ASSIGN_TO`` / ``KM_ASSIGN_TEAM``, Rocket.Chat's
   ``{"action": {"name": "df_perform_handover"}}`` — at top level or under a platform key;
3. the intent's action or display name being one of the configured handoff names;
4. N consecutive fallback answers (``after_fallbacks``; 0 turns it off);
5. the bot failing, when ``on_bot_error`` says ``handoff``.

Triggers 4 and 5 are automatic; they are held back for ``guard_seconds`` after an agent chat ended, and a
bot turn that answers the return-to-bot event never hands off, so a broken bot cannot bounce a customer
between bot and agent. A customer who asks for a person again is always heard.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from livehandoff.domain import feed
from livehandoff.domain.feed import FeedEvent
from livehandoff.domain.model import Author, BotTurn, Conversation, TranscriptLine

HANDOFF_ACTION = "handoff"
ROCKETCHAT_HANDOVER = "df_perform_handover"
KOMMUNICATE_KEYS = ("KM_ASSIGN_TO", "KM_ASSIGN_TEAM")
OUR_KEY = "livehandoff"

Trigger = Literal["live_agent_handoff", "payload", "intent_name", "fallbacks", "bot_error", "left_email"]


@dataclass(frozen=True, slots=True)
class HandoffPolicy:
    """How eagerly the bridge hands off, and where chats go.

    Each field is named as its setting without the ``LIVEHANDOFF_HANDOFF_`` or ``LIVEHANDOFF_LIVECHAT_``
    part (``docs/configuration.md``): ``groups`` is ``LIVEHANDOFF_HANDOFF_GROUPS``.
    """

    names: Collection[str] = ()
    after_fallbacks: int = 0
    on_bot_error: Literal["apologise", "handoff"] = "apologise"
    guard_seconds: float = 60.0
    groups: Mapping[str, int] = field(default_factory=dict)
    """A LiveChat group per trigger (``fallbacks``, ``bot_error``, ...), over the default group."""
    group_names: Mapping[str, int] = field(default_factory=dict)
    """Group names a bot may use in payloads or CX metadata, mapped to LiveChat group ids."""
    bot_return_event: str = "LIVEHANDOFF_ENDED"
    """The bot event sent when an agent chat ends; empty: none."""
    bot_session_ttl_seconds: float = 20 * 60
    """After a handoff this long, the bot's session has expired and its memory is sent back with the event."""
    when_offline: Literal["stay_with_bot", "leave_message", "ask_email"] = "stay_with_bot"
    """When nobody can take the chat: the bot stays, a waiting chat opens, or we take an e-mail first."""
    max_wait_seconds: float = 0
    """How long a customer waits for an agent before the bot takes over again (0: no limit). Waiting chats
    opened to leave a message are exempt."""


@dataclass(frozen=True, slots=True)
class HandoffSignal:
    """A decision to hand off: why, where to, and the facts the agent should see."""

    trigger: Trigger
    reason: str
    group_id: int | None = None
    context: Mapping[str, str] = field(default_factory=dict)


def detect(
    turn: BotTurn,
    conversation: Conversation,
    policy: HandoffPolicy,
    now: datetime,
    *,
    answering_return_event: bool = False,
) -> HandoffSignal | None:
    """The handoff this turn asks for, if any."""
    if answering_return_event:
        return None
    signal = _explicit(turn, policy)
    if (
        signal is None
        and _fallback_limit_reached(turn, conversation, policy)
        and not _guarded(conversation, policy, now)
    ):
        signal = _signal(
            "fallbacks", f"{policy.after_fallbacks} answers in a row were fallbacks", None, turn, policy
        )
    return signal


def on_bot_failure(conversation: Conversation, policy: HandoffPolicy, now: datetime) -> HandoffSignal | None:
    """Whether a failing bot hands the customer to a person (when configured and not guarded)."""
    if policy.on_bot_error != "handoff" or _guarded(conversation, policy, now):
        return None
    return HandoffSignal("bot_error", "the bot could not answer", policy.groups.get("bot_error"))


def _explicit(turn: BotTurn, policy: HandoffPolicy) -> HandoffSignal | None:
    intent = turn.intent or "?"
    if turn.live_agent_handoff:
        group = _group(_first(turn.handoff_metadata, ("group_id", "group", "team")), policy)
        return _signal("live_agent_handoff", f"intent {intent} asked for a live agent", group, turn, policy)
    for payload in turn.payloads:
        marker = _marker(payload)
        if marker is not None:
            return _signal(
                "payload", f"intent {intent} sent a handoff payload", _group(marker, policy), turn, policy
            )
    wanted = {name.casefold() for name in policy.names}
    if any(value and value.casefold() in wanted for value in (turn.action, turn.intent)):
        return _signal("intent_name", f"intent {intent} is a handoff intent", None, turn, policy)
    return None


def _signal(
    trigger: Trigger, reason: str, group: int | None, turn: BotTurn, policy: HandoffPolicy
) -> HandoffSignal:
    context: dict[str, str] = {"handoff_trigger": trigger}
    if turn.intent:
        context["bot_intent"] = turn.intent
    for key, value in turn.handoff_metadata.items():
        if isinstance(value, str | int | float | bool):
            context.setdefault(f"bot_{key}", _plain(value))
    chosen = group if group is not None else policy.groups.get(trigger)
    return HandoffSignal(trigger, reason, chosen, context)


def _plain(value: str | float | bool) -> str:
    """Struct numbers arrive as floats; an order number 4711 should not read 4711.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- payload markers --------------------------------------------------------------------------


_NO_GROUP = object()


def _marker(payload: Mapping[str, Any]) -> object | None:
    """The group hint of a handoff marker (``_NO_GROUP`` when it names none), or None if no marker."""
    found = _marker_here(payload)
    if found is not None:
        return found
    for value in payload.values():
        if isinstance(value, Mapping):
            found = _marker_here(value)
            if found is not None:
                return found
    return None


def _marker_here(payload: Mapping[str, Any]) -> object | None:
    ours = payload.get(OUR_KEY)
    if isinstance(ours, Mapping) and _is_handoff(ours.get("action")):
        return _first(ours, ("group_id", "group")) or _NO_GROUP
    action = payload.get("action")
    if _is_handoff(action):  # Chatwoot
        return _first(payload, ("team_id", "group_id", "group")) or _NO_GROUP
    if isinstance(action, Mapping) and action.get("name") == ROCKETCHAT_HANDOVER:
        params = action.get("params")
        hint = _first(params, ("targetDepartment", "department")) if isinstance(params, Mapping) else None
        return hint or _NO_GROUP
    metadata = payload.get("metadata")
    if isinstance(metadata, Mapping) and any(key in metadata for key in KOMMUNICATE_KEYS):
        return _first(metadata, ("KM_ASSIGN_TEAM",)) or _NO_GROUP
    return None


def _is_handoff(value: object) -> bool:
    return isinstance(value, str) and value.casefold() == HANDOFF_ACTION


def _first(mapping: Mapping[str, Any], keys: Sequence[str]) -> object | None:
    for key in keys:
        value: object = mapping.get(key)
        if value not in (None, ""):
            return value
    return None


def _group(hint: object | None, policy: HandoffPolicy) -> int | None:
    """A group id from a hint: a number, a numeric string, or a configured group name."""
    if hint is None or hint is _NO_GROUP or isinstance(hint, bool):
        return None
    if isinstance(hint, int):
        return hint if hint >= 0 else None
    if isinstance(hint, float) and hint.is_integer() and hint >= 0:
        return int(hint)
    if isinstance(hint, str):
        text = hint.strip()
        if text.isdigit():
            return int(text)
        return {name.casefold(): gid for name, gid in policy.group_names.items()}.get(text.casefold())
    return None


# --- automatic triggers ------------------------------------------------------------------------


def _fallback_limit_reached(turn: BotTurn, conversation: Conversation, policy: HandoffPolicy) -> bool:
    return (
        policy.after_fallbacks > 0
        and turn.is_fallback
        and conversation.fallback_streak + 1 >= policy.after_fallbacks
    )


def _guarded(conversation: Conversation, policy: HandoffPolicy, now: datetime) -> bool:
    ended = conversation.handoff.ended_at if conversation.handoff is not None else None
    return ended is not None and (now - ended).total_seconds() < policy.guard_seconds


# --- what travels with the handoff -------------------------------------------------------------


def transcript_since_last_handoff(events: Sequence[FeedEvent]) -> tuple[TranscriptLine, ...]:
    """The messages the agent has not seen: everything after the last ended agent chat.

    A returning customer's LiveChat chat already holds the earlier threads, so only newer lines travel.
    """
    start = 0
    for index, event in enumerate(events):
        if isinstance(event.payload, feed.HandoffEnded):
            start = index + 1
    return tuple(
        TranscriptLine(
            author=message.author, text=message.text, at=event.created_at, name=message.name or None
        )
        for event in events[start:]
        if isinstance(message := event.payload, feed.Message) and message.author is not Author.SYSTEM
    )


def return_parameters(conversation: Conversation, closed_by: str, now: datetime) -> dict[str, Any]:
    """Parameters of the return-to-bot event: who ended the chat, the agent, how long it lasted."""
    handoff, agent = conversation.handoff, conversation.agent
    duration = int((now - handoff.started_at).total_seconds()) if handoff is not None else 0
    return {"ended_by": closed_by, "agent_name": agent.name if agent else "", "duration_seconds": duration}


def memory_to_restore(
    conversation: Conversation, policy: HandoffPolicy, now: datetime
) -> Mapping[str, Any] | None:
    """The bot's memory from before the handoff, when the agent chat outlived the bot's session."""
    if not conversation.bot_memory or conversation.handoff is None:
        return None
    if (now - conversation.handoff.started_at).total_seconds() < policy.bot_session_ttl_seconds:
        return None
    return conversation.bot_memory
