"""Building the ``DetectIntentResponse`` with the official ``google.cloud.dialogflow_v2`` types.

Using the library's own message classes (rather than hand-written dicts) guarantees the JSON has the
real schema: whatever the official client can parse, and nothing it would reject.

Which messages are sent: only the Default platform's (``platform`` absent), in the query's language,
falling back to the base language (``en`` for ``en-us``) and then the agent's default language when
the intent has no messages in the query's language. For a text message with several variants
Dialogflow picks one at random; the emulator picks one *deterministically* from a hash of the session
path, the turn number and the message's position, so reruns of a test see the same text while
different turns still vary. Variants with a ``$parameter`` / ``#context.parameter`` reference that
has no value are not used, as in Dialogflow; among the rest the emulator prefers the ones using the
most references, so "Order $order_number is on its way" beats a generic variant once the number is
known. ``fulfillmentText`` is the first text message's text. While slot filling asks for a
parameter, the prompt is the only message.

Two quirks of the real service are copied because a bridge has to cope with them: an intent without
responses yields one empty text message (``{"text": {"text": [""]}}``, seen in
googleapis/nodejs-dialogflow#517), and an intent that ends the conversation adds
``diagnosticInfo: {"end_conversation": true}`` besides ``intent.endInteraction``.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from google.cloud.dialogflow_v2 import types

from livehandoff.emulators.dialogflow.model import Agent, Intent, JsonValue, ResponseMessage
from livehandoff.emulators.dialogflow.sessions import ActiveContext

_REFERENCE = re.compile(
    r"\$([A-Za-z_][\w-]*(?:\.original)?)|#([A-Za-z0-9_][\w-]*)\.([A-Za-z_][\w-]*(?:\.original)?)"
)


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """Everything a response is built from."""

    session: str
    agent_path: str
    turn: int
    query_text: str
    language: str
    intent: Intent | None
    confidence: float
    parameters: Mapping[str, JsonValue]
    originals: Mapping[str, JsonValue]
    all_required_present: bool
    contexts: Mapping[str, ActiveContext]
    references: Mapping[str, Mapping[str, JsonValue]]
    prompt: str | None = None
    cancels_slot_filling: bool = False


def build_response(agent: Agent, outcome: TurnOutcome) -> types.DetectIntentResponse:
    """The full ``DetectIntentResponse`` of one turn."""
    messages = _messages(agent, outcome)
    texts = [m.text.text[0] for m in messages if "text" in m and m.text.text]
    result = types.QueryResult(
        query_text=outcome.query_text,
        language_code=outcome.language,
        parameters=dict(outcome.parameters),
        all_required_params_present=outcome.all_required_present,
        fulfillment_text=texts[0] if texts else "",
        fulfillment_messages=messages,
        output_contexts=[
            types.Context(
                name=f"{outcome.session}/contexts/{name}",
                lifespan_count=context.lifespan,
                parameters=dict(context.parameters),
            )
            for name, context in outcome.contexts.items()
        ],
        intent_detection_confidence=outcome.confidence,
        cancels_slot_filling=outcome.cancels_slot_filling,
    )
    if outcome.intent is not None:
        result.action = outcome.intent.action
        if outcome.intent.end_interaction:
            result.diagnostic_info = {"end_conversation": True}
        result.intent = types.Intent(
            name=f"{outcome.agent_path}/intents/{outcome.intent.id}",
            display_name=outcome.intent.display_name,
            is_fallback=outcome.intent.is_fallback,
            live_agent_handoff=outcome.intent.live_agent_handoff,
            end_interaction=outcome.intent.end_interaction,
        )
    response_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{outcome.session}#{outcome.turn}")
    return types.DetectIntentResponse(response_id=str(response_id), query_result=result)


def select_messages(intent: Intent, language: str, default_language: str) -> list[ResponseMessage]:
    """The intent's Default-platform messages in the best available language."""
    default_platform = [m for m in intent.messages if not m.platform]
    for candidate in (language, language.split("-")[0], default_language):
        chosen = [m for m in default_platform if m.language == candidate]
        if chosen:
            return chosen
    return []


def choose_variant(texts: Sequence[str], session: str, turn: int, position: int) -> str:
    """A stable pseudo-random pick: same session, turn and message position, same text."""
    digest = hashlib.sha256(f"{session}\n{turn}\n{position}".encode()).digest()
    return texts[int.from_bytes(digest[:8], "big") % len(texts)]


def substitute(text: str, outcome: TurnOutcome) -> str:
    """Fill ``$name``, ``$name.original`` and ``#context.name`` references; unknown ones become ''."""
    return _REFERENCE.sub(lambda m: _text_value(_reference(m, outcome)), text)


def _messages(agent: Agent, outcome: TurnOutcome) -> list[types.Intent.Message]:
    if outcome.prompt is not None:
        return [
            types.Intent.Message(text=types.Intent.Message.Text(text=[substitute(outcome.prompt, outcome)]))
        ]
    if outcome.intent is None:
        return []
    selected = select_messages(outcome.intent, outcome.language, agent.default_language)
    if not selected:
        return [types.Intent.Message(text=types.Intent.Message.Text(text=[""]))]
    return [_message(message, outcome, position) for position, message in enumerate(selected)]


def _message(message: ResponseMessage, outcome: TurnOutcome, position: int) -> types.Intent.Message:
    kind = types.Intent.Message
    if message.kind == "text":
        text = choose_variant(_best_filled(message.texts, outcome), outcome.session, outcome.turn, position)
        return kind(text=kind.Text(text=[substitute(text, outcome)]))
    if message.kind == "quick_replies":
        return kind(quick_replies=kind.QuickReplies(title=message.title, quick_replies=list(message.replies)))
    if message.kind == "card":
        buttons = [kind.Card.Button(text=b.text, postback=b.postback) for b in message.buttons]
        return kind(
            card=kind.Card(
                title=message.title, subtitle=message.subtitle, image_uri=message.image_uri, buttons=buttons
            )
        )
    if message.kind == "image":
        return kind(image=kind.Image(image_uri=message.image_uri))
    return kind(payload=dict(message.payload))


def _best_filled(texts: Sequence[str], outcome: TurnOutcome) -> list[str]:
    """The variants whose references are all filled, those with the most references first."""
    counts = {text: _filled_references(text, outcome) for text in texts}
    usable = [text for text in texts if counts[text] is not None]
    if not usable:
        return list(texts)
    most = max(counts[text] or 0 for text in usable)
    return [text for text in usable if counts[text] == most]


def _filled_references(text: str, outcome: TurnOutcome) -> int | None:
    """How many references ``text`` has, or ``None`` if one of them has no value."""
    values = [_reference(m, outcome) for m in _REFERENCE.finditer(text)]
    return None if any(v in (None, "", []) for v in values) else len(values)


def _reference(match: re.Match[str], outcome: TurnOutcome) -> JsonValue:
    if match.group(1) is not None:
        name, _, original = match.group(1).partition(".")
        return (outcome.originals if original else outcome.parameters).get(name)
    return outcome.references.get(match.group(2).lower(), {}).get(match.group(3))


def _text_value(value: JsonValue) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(_text_value(item) for item in value)
    return str(value)
