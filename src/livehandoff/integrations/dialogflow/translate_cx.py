"""Pure translation of a Dialogflow CX ``queryResult`` (camelCase JSON, as Google sends it) into a BotTurn.

What each ``responseMessages[]`` kind becomes:

* ``text`` — one reply per non-empty line (CX has already picked one variant).
* ``payload`` — a custom payload, passed on in ``BotTurn.payloads`` for the handoff rules. Two payload
  shapes also carry quick replies, which attach to the reply before them (or stand alone when there
  is none):

  - our simple convention ``{"quick_replies": ["Shipping", "Talk to a person"]}``; the payload is
    passed on only if it has other keys besides ``quick_replies`` (without that key);
  - Dialogflow Messenger chips, ``{"richContent": [[{"type": "chips", "options": [{"text": "…"}]}]]}``,
    so an agent written for the Messenger works unchanged; such payloads are passed on as they are.

* ``liveAgentHandoff`` — ``live_agent_handoff=True``; its ``metadata`` (routing hints such as a group,
  context for the agent) becomes ``handoff_metadata``, merged in order when there are several.
* ``endInteraction`` — ``end_interaction=True`` (the flow reached ``END_SESSION``).
* Everything else (audio, telephony, ``conversationSuccess`` …) says nothing to a chat customer.

Messages for a named ``channel`` are skipped: we never ask for one, so they are not meant for us.
``match.matchType == "NO_MATCH"`` marks a fallback turn. CX has no ``action``; ``intent`` is the
matched intent's display name, else the current page's (an event or no-match turn still says where
the conversation is). ``parameters`` are the session parameters, and they are also the turn's
``memory`` (``{"parameters": {...}}``), which ``DialogflowCX.send_event`` can send back later.
Strings lose their NUL characters first, as in ``translate``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from livehandoff.domain.model import BotReply, BotTurn
from livehandoff.integrations.dialogflow.translate import without_nul

QUICK_REPLIES_KEY = "quick_replies"
NO_MATCH = "NO_MATCH"


def turn_from_cx_query_result(result: Mapping[str, Any]) -> BotTurn:
    """The bot's turn from a CX ``queryResult`` object."""
    result = without_nul(result)
    messages = [m for m in result.get("responseMessages") or () if not m.get("channel")]
    replies: list[BotReply] = []
    payloads: list[Mapping[str, Any]] = []
    metadata: dict[str, Any] = {}
    for message in messages:
        if "text" in message:
            replies.extend(BotReply(str(line)) for line in message["text"].get("text") or () if line)
        elif isinstance(message.get("payload"), Mapping):
            payloads.extend(_payload(replies, message["payload"]))
        elif "liveAgentHandoff" in message:
            metadata.update((message["liveAgentHandoff"] or {}).get("metadata") or {})
    match = result.get("match") or {}
    return BotTurn(
        replies=tuple(replies),
        intent=_intent_name(result),
        live_agent_handoff=any("liveAgentHandoff" in m for m in messages),
        end_interaction=any("endInteraction" in m for m in messages),
        is_fallback=match.get("matchType") == NO_MATCH,
        payloads=tuple(payloads),
        parameters=dict(result.get("parameters") or {}),
        handoff_metadata=metadata,
        memory=cx_memory(result),
    )


def cx_memory(result: Mapping[str, Any]) -> dict[str, Any]:
    """What a CX session remembers after the turn: its session parameters."""
    parameters = result.get("parameters")
    return {"parameters": dict(parameters)} if isinstance(parameters, Mapping) and parameters else {}


def remembered_parameters(memory: Mapping[str, Any] | None) -> dict[str, Any]:
    """The session parameters kept in a ``BotTurn.memory`` made by ``cx_memory``."""
    parameters = (memory or {}).get("parameters")
    return dict(parameters) if isinstance(parameters, Mapping) else {}


def _payload(replies: list[BotReply], payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Attach the payload's quick replies; return what is left to pass on as a payload."""
    simple = payload.get(QUICK_REPLIES_KEY)
    if isinstance(simple, Sequence) and not isinstance(simple, str):
        _attach(replies, tuple(str(option) for option in simple if option))
        rest = {key: value for key, value in payload.items() if key != QUICK_REPLIES_KEY}
        return [rest] if rest else []
    chips = tuple(_chips(payload.get("richContent")))
    if chips:
        _attach(replies, chips)
    return [payload]


def _chips(rich_content: object) -> Iterator[str]:
    """The option texts of Messenger ``chips`` elements (``richContent`` is a list of lists)."""
    if not isinstance(rich_content, Sequence) or isinstance(rich_content, str):
        return
    for group in rich_content:
        for element in group if isinstance(group, Sequence) and not isinstance(group, str) else ():
            if isinstance(element, Mapping) and element.get("type") == "chips":
                for option in element.get("options") or ():
                    if isinstance(option, Mapping) and option.get("text"):
                        yield str(option["text"])


def _attach(replies: list[BotReply], options: tuple[str, ...]) -> None:
    if not options:
        return
    if not replies:
        replies.append(BotReply("", options))
        return
    last = replies[-1]
    replies[-1] = BotReply(last.text, last.quick_replies + options)


def _intent_name(result: Mapping[str, Any]) -> str:
    for source in (
        (result.get("match") or {}).get("intent"),
        result.get("intent"),
        result.get("currentPage"),
    ):
        if isinstance(source, Mapping) and source.get("displayName"):
            return str(source["displayName"])
    return ""


__all__ = ["QUICK_REPLIES_KEY", "cx_memory", "remembered_parameters", "turn_from_cx_query_result"]
