"""Slot filling: asking for required parameters the user's text did not contain.

When the matched intent has a required parameter without a value and the export has prompts for it,
Dialogflow answers with one of the prompts instead of the intent's responses, reports
``allRequiredParamsPresent: false``, and treats the user's next text as the answer. The prebuilt
Support agent relies on it: its ``support.live_agent`` intent asks for ``details`` first.

The emulator keeps the pending intent and the values collected so far in the session. The next text
fills the parameter being asked (free text for ``@sys.any``-like types, a recognised value
otherwise); if it cannot, the prompt is repeated. "cancel", "stop" and the like abandon slot filling
(``cancelsSlotFilling: true``); an event query abandons it silently. The intent's output contexts
are applied only once every required parameter is present. Dialogflow's internal
``*_dialog_context`` contexts are not emitted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from livehandoff.emulators.dialogflow.entities import EntityRecognizer, convert, entity_class
from livehandoff.emulators.dialogflow.model import Intent, IntentParameter, JsonValue
from livehandoff.emulators.dialogflow.text import normalize, tokenize

CANCEL_PHRASES = frozenset({"cancel", "stop", "exit", "quit", "never mind", "nevermind", "forget it"})


@dataclass(frozen=True, slots=True)
class PendingSlots:
    """An intent waiting for ``asking``; ``found``/``originals`` are keyed by parameter alias."""

    intent_id: str
    asking: str
    found: Mapping[str, JsonValue]
    originals: Mapping[str, JsonValue]


def is_cancel(text: str) -> bool:
    """Whether the user abandons slot filling."""
    return " ".join(token.norm for token in tokenize(text)) in {normalize(p) for p in CANCEL_PHRASES}


def next_prompt(
    intent: Intent, values: Mapping[str, JsonValue], language: str, default_language: str
) -> tuple[IntentParameter, tuple[str, ...]] | None:
    """The first required parameter without a value that has prompts, with those prompts."""
    for parameter in intent.parameters:
        if not parameter.required or values.get(parameter.name) not in (None, "", []):
            continue
        prompts = parameter.prompts_for(language, default_language)
        if prompts:
            return parameter, prompts
    return None


def answer(
    parameter: IntentParameter, text: str, recognizer: EntityRecognizer
) -> tuple[JsonValue, JsonValue] | None:
    """``(value, original)`` for ``parameter`` from the user's reply, or ``None`` if it has none."""
    cls = entity_class(parameter.entity_type)
    if cls is None:
        stripped = text.strip()
        return (stripped, stripped) if stripped else None
    matches = [m for m in recognizer.find(text, tokenize(text)) if m.entity_class == cls]
    if not matches:
        return None
    if parameter.is_list:
        return [convert(parameter.entity_type, m) for m in matches], [m.original for m in matches]
    return convert(parameter.entity_type, matches[0]), matches[0].original


def alias(parameter: IntentParameter) -> str:
    """The key a parameter's text value is collected under (``$alias`` -> ``alias``)."""
    return parameter.value[1:] if parameter.value.startswith("$") else parameter.name
