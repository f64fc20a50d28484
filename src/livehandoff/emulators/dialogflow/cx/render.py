"""Fulfillment messages as official ``ResponseMessage``s, with parameter references filled in.

References are CX's: ``$session.params.<name>``, ``$intent.params.<id>`` (``.resolved`` is the same,
``.original`` the text the user typed). In text a reference with no value becomes ``''``. In payloads
and handoff metadata a string that is exactly one reference takes the parameter's value as it is
(a number stays a number, a missing one is ``null``), so metadata can carry what the bot collected
to the agent; references inside longer strings are filled as text.

A text message with several variants returns one, as CX does. Like the ES emulator, the pick is
stable (hash of session, turn and position) and skips variants whose references have no value,
preferring those that use the most, so "Order $session.params.order_number is on its way" wins over a
generic variant once the number is known.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from google.cloud.dialogflowcx_v3 import types

from livehandoff.emulators.dialogflow.cx.model import CxMessage
from livehandoff.emulators.dialogflow.model import JsonValue
from livehandoff.emulators.dialogflow.responses import choose_variant

_REFERENCE = re.compile(r"\$(session|intent)\.params\.([A-Za-z_][\w-]*)(?:\.(original|resolved))?")

Kind = types.ResponseMessage


@dataclass(frozen=True, slots=True)
class References:
    """The values references can read during one fulfillment."""

    session: Mapping[str, JsonValue] = field(default_factory=dict)
    intent: Mapping[str, JsonValue] = field(default_factory=dict)
    originals: Mapping[str, JsonValue] = field(default_factory=dict)

    def value(self, match: re.Match[str]) -> JsonValue:
        scope, name, suffix = match.groups()
        if scope == "session":
            return self.session.get(name)
        return (self.originals if suffix == "original" else self.intent).get(name)


@dataclass(frozen=True, slots=True)
class Seed:
    """What makes a variant pick reproducible: the session, the turn and the message's position."""

    session: str
    turn: int
    position: int


def render(message: CxMessage, refs: References, seed: Seed, response_type: int) -> types.ResponseMessage:
    """One official ``ResponseMessage`` for ``message``."""
    if message.kind == "text":
        chosen = choose_variant(_best_filled(message.texts, refs), seed.session, seed.turn, seed.position)
        return Kind(text=Kind.Text(text=[substitute(chosen, refs)]), response_type=response_type)
    data = resolve(dict(message.data), refs)
    assert isinstance(data, dict)
    if message.kind == "payload":
        return Kind(payload=data, response_type=response_type)
    if message.kind == "liveAgentHandoff":
        return Kind(live_agent_handoff=Kind.LiveAgentHandoff(metadata=data), response_type=response_type)
    if message.kind == "conversationSuccess":
        return Kind(conversation_success=Kind.ConversationSuccess(metadata=data), response_type=response_type)
    return end_interaction()


def end_interaction() -> types.ResponseMessage:
    """CX's output-only marker of a session that reached ``END_SESSION``."""
    return Kind(end_interaction=Kind.EndInteraction())


def substitute(text: str, refs: References) -> str:
    """Fill every reference in ``text``; ones without a value become ``''``."""
    return _REFERENCE.sub(lambda m: as_text(refs.value(m)), text)


def resolve(value: JsonValue, refs: References) -> JsonValue:
    """Fill references in the strings of a JSON value (see the module docstring)."""
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        return refs.value(whole) if whole is not None else substitute(value, refs)
    if isinstance(value, list):
        return [resolve(item, refs) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, refs) for key, item in value.items()}
    return value


def as_text(value: JsonValue) -> str:
    """A parameter value as the text a reference shows (``4711.0`` reads ``4711``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(as_text(item) for item in value)
    return str(value)


def _best_filled(texts: Sequence[str], refs: References) -> list[str]:
    counts = {text: _filled_references(text, refs) for text in texts}
    usable = [text for text in texts if counts[text] is not None]
    if not usable:
        return list(texts)
    most = max(counts[text] or 0 for text in usable)
    return [text for text in usable if counts[text] == most]


def _filled_references(text: str, refs: References) -> int | None:
    values = [refs.value(m) for m in _REFERENCE.finditer(text)]
    return None if any(v in (None, "", []) for v in values) else len(values)


__all__ = ["References", "Seed", "as_text", "end_interaction", "render", "resolve", "substitute"]
