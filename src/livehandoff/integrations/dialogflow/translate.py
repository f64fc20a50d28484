"""Pure translation between Dialogflow ES JSON (camelCase, as Google sends it) and our domain types.

Every string Dialogflow hands us loses its NUL characters (U+0000) before it becomes a domain value:
PostgreSQL cannot store NUL in text, and the same rule holds on SQLite (docs/api.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from livehandoff.domain.model import BotReply, BotTurn

DEFAULT_PLATFORMS = frozenset({"", "PLATFORM_UNSPECIFIED"})


def without_nul(value: Any) -> Any:
    """``value`` with NUL removed from every string in it, keys included, however deeply nested.

    Recursion is safe here: what we walk was parsed by protobuf, which refuses nesting deeper than 100.
    """
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, Mapping):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(item) for item in value]
    return value


def turn_from_query_result(result: Mapping[str, Any]) -> BotTurn:
    """The bot's turn from a ``queryResult`` object.

    Only default-platform messages are kept: a web customer should not see the Facebook or Slack
    variants an agent may also define (reference: a detectIntent result carries all platforms).
    """
    result = without_nul(result)
    intent = result.get("intent") or {}
    messages = [
        m for m in result.get("fulfillmentMessages") or () if m.get("platform", "") in DEFAULT_PLATFORMS
    ]
    replies, payloads = _replies(messages)
    if not replies and result.get("fulfillmentText"):
        replies = [BotReply(str(result["fulfillmentText"]))]
    return BotTurn(
        replies=tuple(replies),
        intent=str(intent.get("displayName", "")),
        action=str(result.get("action", "")),
        live_agent_handoff=bool(intent.get("liveAgentHandoff", False)),
        end_interaction=bool(intent.get("endInteraction", False)),
        is_fallback=bool(intent.get("isFallback", False)),
        payloads=tuple(payloads),
        parameters=dict(result.get("parameters") or {}),
        memory=es_memory(result),
    )


def es_memory(result: Mapping[str, Any]) -> dict[str, Any]:
    """What an ES session remembers after the turn: its output contexts, to restore them later.

    Dialogflow's own bookkeeping contexts (``__system_counters__``, ``*_dialog_context``,
    ``*_dialog_params_size``) are left out: the API refuses them as input (reference §1.4).
    """
    contexts = [
        dict(c)
        for c in result.get("outputContexts") or ()
        if isinstance(c, Mapping) and c.get("name") and not _reserved(str(c["name"]))
    ]
    return {"contexts": contexts} if contexts else {}


def _reserved(name: str) -> bool:
    context = name.rsplit("/", 1)[-1]
    return context.startswith("__") or context.endswith(("_dialog_context", "_dialog_params_size"))


def _replies(messages: Sequence[Mapping[str, Any]]) -> tuple[list[BotReply], list[Mapping[str, Any]]]:
    replies: list[BotReply] = []
    payloads: list[Mapping[str, Any]] = []
    for message in messages:
        if "text" in message:
            replies.extend(BotReply(str(line)) for line in message["text"].get("text", ()) if line)
        elif "quickReplies" in message:
            _attach_quick_replies(replies, message["quickReplies"])
        elif "card" in message:
            replies.append(_card(message["card"]))
        elif "payload" in message and isinstance(message["payload"], Mapping):
            payloads.append(message["payload"])
    return replies, payloads


def _attach_quick_replies(replies: list[BotReply], block: Mapping[str, Any]) -> None:
    """Quick replies belong to the text before them; with a title of their own they stand alone."""
    options = tuple(str(option) for option in block.get("quickReplies", ()) if option)
    title = str(block.get("title", ""))
    if title or not replies:
        replies.append(BotReply(title, options))
    else:
        last = replies[-1]
        replies[-1] = BotReply(last.text, last.quick_replies + options)


def _card(card: Mapping[str, Any]) -> BotReply:
    text = "\n".join(str(card[key]) for key in ("title", "subtitle") if card.get(key))
    buttons = tuple(str(button["text"]) for button in card.get("buttons", ()) if button.get("text"))
    return BotReply(text, buttons)
