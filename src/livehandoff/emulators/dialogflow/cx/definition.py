"""Load a scripted CX agent definition (one JSON file) into a :class:`CxAgent`.

The file describes one flow the way the CX console does, with display names instead of resource
names. Every key is CX's own spelling; messages are CX ``ResponseMessage`` JSON and are checked
with the official type, so a typo fails here rather than at the first turn::

    {
      "displayName": "Shop bot",
      "defaultLanguageCode": "en",
      "classificationThreshold": 0.3,
      "entityTypes": [
        {"displayName": "topic", "entities": [{"value": "shipping", "synonyms": ["shipping", "delivery"]}]}
      ],
      "intents": [
        {"displayName": "human.handoff", "trainingPhrases": ["talk to a person", "I want an agent"]},
        {"displayName": "order.status",
         "trainingPhrases": [
           "where is my order",
           {"parts": [{"text": "where is order "}, {"text": "4711", "parameterId": "order_number"}]}
         ],
         "parameters": [{"id": "order_number", "entityType": "@sys.number"}]}
      ],
      "flow": {
        "displayName": "Default Start Flow",
        "transitionRoutes": [
          {"intent": "human.handoff",
           "triggerFulfillment": {
             "messages": [
               {"text": {"text": ["Let me connect you with a person."]}},
               {"liveAgentHandoff": {"metadata": {"group": "0", "reason": "customer asked"}}}
             ],
             "setParameterActions": [{"parameter": "handoff_requested", "value": true}]}},
          {"intent": "order.status", "targetPage": "Order Status"}
        ],
        "eventHandlers": [
          {"event": "LIVEHANDOFF_ENDED",
           "triggerFulfillment": {"messages": [{"text": {"text": ["Welcome back!"]}}]}},
          {"event": "sys.no-match-default",
           "triggerFulfillment": {"messages": [{"text": {"text": ["Sorry, I didn't get that."]}}]}}
        ],
        "pages": [
          {"displayName": "Order Status",
           "entryFulfillment": {"messages": [{"text": {"text": [
             "Order $session.params.order_number is on its way.", "Which order number?"]}}]},
           "transitionRoutes": [{"intent": "goodbye", "targetPage": "END_SESSION"}],
           "eventHandlers": []}
        ]
      }
    }

Records and their keys (all optional unless marked *required*):

* agent: ``displayName``, ``defaultLanguageCode`` (``en``), ``classificationThreshold`` (0.3),
  ``entityTypes``, ``intents``, ``flow`` (*required*).
* entity type: ``displayName`` (*required*), ``entities`` ``[{value, synonyms}]``; intents refer to
  it as ``@<displayName>``.
* intent: ``displayName`` (*required*, unique), ``trainingPhrases`` (strings, or ``{"parts":
  [{"text", "parameterId"}]}`` to annotate a parameter), ``parameters`` ``[{id, entityType, isList}]``
  with ``entityType`` ``@sys.*`` or a declared entity type.
* flow and page: ``transitionRoutes``, ``eventHandlers``; the flow also has ``displayName`` and
  ``pages``; a page has ``displayName`` (*required*, unique) and ``entryFulfillment``.
* route: ``intent`` (*required*), ``triggerFulfillment``, ``targetPage``. Handler: ``event``
  (*required*), ``triggerFulfillment``, ``targetPage``. A target is a page's display name or one of
  ``END_SESSION``, ``END_FLOW``, ``START_PAGE``, ``CURRENT_PAGE``, ``PREVIOUS_PAGE``.
* fulfillment: ``messages`` (``text`` with one or more variants, ``payload``, ``liveAgentHandoff``,
  ``endInteraction``, ``conversationSuccess``) and ``setParameterActions`` ``[{parameter, value}]``.

Descriptive CX keys (``description``, ``name``, ``tag``, ``redact``, ``repeatCount``, ``kind``) are
accepted and ignored; any other unknown key is an error, so a typo cannot silently drop a route. Not
modelled, and refused rather than ignored: route conditions, several flows (``targetFlow``), forms,
webhooks. Every problem is a :class:`CxAgentError` (a ``ValueError``) naming the file and
the record, e.g. ``flow.pages[0].transitionRoutes[1]: unknown intent 'goodby'``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from google.cloud.dialogflowcx_v3 import types
from google.protobuf.json_format import ParseError

from livehandoff.emulators.dialogflow.cx.model import (
    DEFAULT_CLASSIFICATION_THRESHOLD,
    SPECIAL_TARGETS,
    CxAgent,
    CxEntityType,
    CxIntent,
    CxMessage,
    CxParameter,
    EventHandler,
    Flow,
    Fulfillment,
    MessageKind,
    Page,
    ParameterAction,
    Route,
)
from livehandoff.emulators.dialogflow.engine import plain_map
from livehandoff.emulators.dialogflow.model import EntityEntry, JsonValue, PhrasePart, TrainingPhrase
from livehandoff.errors import InvalidInput

_MESSAGE_KINDS: Mapping[str, MessageKind] = {
    "text": "text",
    "payload": "payload",
    "live_agent_handoff": "liveAgentHandoff",
    "end_interaction": "endInteraction",
    "conversation_success": "conversationSuccess",
}
_UNSUPPORTED = {
    "condition": "route conditions are not supported",
    "targetFlow": "only one flow is supported (targetFlow)",
    "form": "forms are not supported",
    "webhook": "webhooks are not supported",
}


class CxAgentError(InvalidInput, ValueError):
    """The definition file is missing, is not JSON, or a record is incomplete or inconsistent."""


def load_cx_agent(path: str | Path) -> CxAgent:
    """Read a CX agent definition file; raises :class:`CxAgentError` (a ``ValueError``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise CxAgentError(f"CX agent definition {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CxAgentError(f"CX agent definition {str(path)!r} is not a JSON file: {exc}") from exc
    try:
        return parse_cx_agent(data)
    except CxAgentError as exc:
        raise CxAgentError(f"{path}: {exc}") from None


def parse_cx_agent(data: object) -> CxAgent:
    """A :class:`CxAgent` from the parsed JSON of a definition (see the module docstring)."""
    agent = _object(data, "agent", {"displayName", "defaultLanguageCode", "classificationThreshold",
                                     "entityTypes", "intents", "flow"})  # fmt: skip
    language = _string(agent.get("defaultLanguageCode", "en"), "defaultLanguageCode").lower() or "en"
    entity_types = tuple(
        _entity_type(item, f"entityTypes[{n}]") for n, item in enumerate(_list(agent, "entityTypes"))
    )
    known = {f"@{entity.display_name}" for entity in entity_types}
    intents = tuple(
        _intent(item, f"intents[{n}]", language, known) for n, item in enumerate(_list(agent, "intents"))
    )
    _unique([i.display_name for i in intents], "intents", "intent")
    if "flow" not in agent:
        raise CxAgentError("the agent needs a 'flow'")
    flow = _flow(agent["flow"])
    _check_references(flow, {i.display_name for i in intents})
    return CxAgent(
        display_name=_string(agent.get("displayName", ""), "displayName"),
        language=language,
        flow=flow,
        intents=intents,
        entity_types=entity_types,
        classification_threshold=_threshold(agent.get("classificationThreshold")),
    )


# --- intents and entity types ---------------------------------------------------------------------


def _entity_type(data: object, where: str) -> CxEntityType:
    record = _object(data, where, {"displayName", "entities", "kind"})
    entries = []
    for n, item in enumerate(_list(record, "entities", where)):
        entry = _object(item, f"{where}.entities[{n}]", {"value", "synonyms"})
        value = _required_string(entry, "value", f"{where}.entities[{n}]")
        synonyms = [_string(s, f"{where}.entities[{n}].synonyms") for s in _list(entry, "synonyms", where)]
        entries.append(EntityEntry(value, tuple(s for s in synonyms if s) or (value,)))
    return CxEntityType(_required_string(record, "displayName", where), tuple(entries))


def _intent(data: object, where: str, language: str, entity_types: set[str]) -> CxIntent:
    record = _object(data, where, {"displayName", "trainingPhrases", "parameters", "description"})
    name = _required_string(record, "displayName", where)
    parameters = tuple(
        _parameter(item, f"{where}.parameters[{n}]", entity_types)
        for n, item in enumerate(_list(record, "parameters", where))
    )
    _unique([p.id for p in parameters], f"{where}.parameters", "parameter")
    by_id = {p.id: p for p in parameters}
    phrases = tuple(
        _phrase(item, f"{where}.trainingPhrases[{n}]", language, by_id)
        for n, item in enumerate(_list(record, "trainingPhrases", where))
    )
    return CxIntent(_stable_id("intent", name), name, phrases, parameters)


def _parameter(data: object, where: str, entity_types: set[str]) -> CxParameter:
    record = _object(data, where, {"id", "entityType", "isList", "redact"})
    entity_type = _required_string(record, "entityType", where)
    if not entity_type.startswith("@sys.") and entity_type not in entity_types:
        raise CxAgentError(f"{where}: unknown entity type {entity_type!r} (use @sys.* or a declared one)")
    return CxParameter(_required_string(record, "id", where), entity_type, bool(record.get("isList", False)))


def _phrase(data: object, where: str, language: str, parameters: Mapping[str, CxParameter]) -> TrainingPhrase:
    if isinstance(data, str):
        if not data.strip():
            raise CxAgentError(f"{where}: a training phrase must not be empty")
        return TrainingPhrase((PhrasePart(data),), language)
    record = _object(data, where, {"parts", "repeatCount"})
    parts = []
    for n, item in enumerate(_list(record, "parts", where)):
        part = _object(item, f"{where}.parts[{n}]", {"text", "parameterId"})
        text = _required_string(part, "text", f"{where}.parts[{n}]")
        parameter_id = _string(part.get("parameterId", ""), f"{where}.parts[{n}].parameterId")
        if parameter_id and parameter_id not in parameters:
            raise CxAgentError(f"{where}.parts[{n}]: parameterId {parameter_id!r} is not a parameter")
        entity = parameters[parameter_id].entity_type if parameter_id else None
        parts.append(PhrasePart(text, entity, parameter_id or None))
    if not parts:
        raise CxAgentError(f"{where}: a training phrase needs 'parts'")
    return TrainingPhrase(tuple(parts), language)


# --- the flow ----------------------------------------------------------------------------------


def _flow(data: object) -> Flow:
    record = _object(data, "flow", {"displayName", "transitionRoutes", "eventHandlers", "pages"})
    pages = tuple(_page(item, f"flow.pages[{n}]") for n, item in enumerate(_list(record, "pages", "flow")))
    _unique([p.display_name for p in pages], "flow.pages", "page")
    return Flow(
        display_name=_string(record.get("displayName", "Default Start Flow"), "flow.displayName"),
        routes=_routes(record, "flow"),
        handlers=_handlers(record, "flow"),
        pages=pages,
    )


def _page(data: object, where: str) -> Page:
    record = _object(data, where, {"displayName", "entryFulfillment", "transitionRoutes", "eventHandlers"})
    name = _required_string(record, "displayName", where)
    if name in SPECIAL_TARGETS:
        raise CxAgentError(f"{where}: {name!r} is reserved for a symbolic transition target")
    return Page(
        id=_stable_id("page", name),
        display_name=name,
        entry=_fulfillment(record.get("entryFulfillment"), f"{where}.entryFulfillment"),
        routes=_routes(record, where),
        handlers=_handlers(record, where),
    )


def _routes(record: Mapping[str, Any], where: str) -> tuple[Route, ...]:
    routes = []
    for n, item in enumerate(_list(record, "transitionRoutes", where)):
        here = f"{where}.transitionRoutes[{n}]"
        route = _object(item, here, {"intent", "triggerFulfillment", "targetPage", "name", "description"})
        routes.append(
            Route(
                intent=_required_string(route, "intent", here),
                fulfillment=_fulfillment(route.get("triggerFulfillment"), f"{here}.triggerFulfillment"),
                target=_target(route, here),
            )
        )
    return tuple(routes)


def _handlers(record: Mapping[str, Any], where: str) -> tuple[EventHandler, ...]:
    handlers = []
    for n, item in enumerate(_list(record, "eventHandlers", where)):
        here = f"{where}.eventHandlers[{n}]"
        handler = _object(item, here, {"event", "triggerFulfillment", "targetPage", "name"})
        handlers.append(
            EventHandler(
                event=_required_string(handler, "event", here),
                fulfillment=_fulfillment(handler.get("triggerFulfillment"), f"{here}.triggerFulfillment"),
                target=_target(handler, here),
            )
        )
    return tuple(handlers)


def _target(record: Mapping[str, Any], where: str) -> str | None:
    return _string(record.get("targetPage", ""), f"{where}.targetPage") or None


def _fulfillment(data: object, where: str) -> Fulfillment:
    if data is None:
        return Fulfillment()
    record = _object(data, where, {"messages", "setParameterActions", "tag"})
    messages = tuple(_message(m, f"{where}.messages[{n}]") for n, m in enumerate(_list(record, "messages")))
    actions = []
    for n, item in enumerate(_list(record, "setParameterActions", where)):
        here = f"{where}.setParameterActions[{n}]"
        action = _object(item, here, {"parameter", "value"})
        value: JsonValue = action.get("value")
        actions.append(ParameterAction(_required_string(action, "parameter", here), value))
    return Fulfillment(messages, tuple(actions))


def _message(data: object, where: str) -> CxMessage:
    """One ``ResponseMessage``, validated by the official type (unknown keys fail, as at Google)."""
    if not isinstance(data, dict):
        raise CxAgentError(f"{where}: a message must be a JSON object")
    try:
        parsed = types.ResponseMessage.from_json(json.dumps(data), ignore_unknown_fields=False)
    except ParseError as exc:
        raise CxAgentError(f"{where}: not a CX ResponseMessage: {exc}") from None
    which = types.ResponseMessage.pb(parsed).WhichOneof("message")
    kind = _MESSAGE_KINDS.get(which or "")
    if kind is None:
        raise CxAgentError(f"{where}: unsupported message kind {which!r} (use {', '.join(_MESSAGE_KINDS)})")
    if kind == "text":
        texts = tuple(str(t) for t in parsed.text.text if t)
        if not texts:
            raise CxAgentError(f"{where}: a text message needs at least one non-empty text")
        return CxMessage(kind, texts)
    if kind == "payload":
        return CxMessage(kind, data=plain_map(parsed.payload))
    if kind == "liveAgentHandoff":
        return CxMessage(kind, data=plain_map(parsed.live_agent_handoff.metadata))
    if kind == "conversationSuccess":
        return CxMessage(kind, data=plain_map(parsed.conversation_success.metadata))
    return CxMessage(kind)


def _check_references(flow: Flow, intents: set[str]) -> None:
    """Every route names a known intent and every target a page or a symbolic target."""
    pages = {page.display_name for page in flow.pages}
    scopes: list[tuple[str, Sequence[Route], Sequence[EventHandler]]] = [("flow", flow.routes, flow.handlers)]
    scopes += [(f"flow.pages[{n}]", p.routes, p.handlers) for n, p in enumerate(flow.pages)]
    for where, routes, handlers in scopes:
        for n, route in enumerate(routes):
            if route.intent not in intents:
                raise CxAgentError(f"{where}.transitionRoutes[{n}]: unknown intent {route.intent!r}")
            _check_target(route.target, pages, f"{where}.transitionRoutes[{n}]")
        for n, handler in enumerate(handlers):
            _check_target(handler.target, pages, f"{where}.eventHandlers[{n}]")


def _check_target(target: str | None, pages: set[str], where: str) -> None:
    if target is not None and target not in pages and target not in SPECIAL_TARGETS:
        raise CxAgentError(f"{where}: targetPage {target!r} is neither a page nor a symbolic target")


# --- small checks --------------------------------------------------------------------------------


def _object(data: object, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise CxAgentError(f"{where}: expected a JSON object")
    for key in data:
        if key in _UNSUPPORTED:
            raise CxAgentError(f"{where}: {_UNSUPPORTED[key]}")
        if key not in allowed:
            raise CxAgentError(f"{where}: unknown key {key!r} (expected one of {', '.join(sorted(allowed))})")
    return data


def _list(record: Mapping[str, Any], key: str, where: str = "agent") -> list[Any]:
    value = record.get(key, [])
    if not isinstance(value, list):
        raise CxAgentError(f"{where}.{key}: expected a JSON array")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise CxAgentError(f"{where}: expected a string")
    return value


def _required_string(record: Mapping[str, Any], key: str, where: str) -> str:
    value = _string(record.get(key, ""), f"{where}.{key}")
    if not value.strip():
        raise CxAgentError(f"{where}: '{key}' is required")
    return value


def _unique(names: Sequence[str], where: str, what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise CxAgentError(f"{where}: two {what}s are named {name!r}")
        seen.add(name)


def _threshold(value: object) -> float:
    if value is None:
        return DEFAULT_CLASSIFICATION_THRESHOLD
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise CxAgentError("classificationThreshold: expected a number between 0 and 1")
    return float(value)


def _stable_id(kind: str, display_name: str) -> str:
    """Resource ids that stay the same across loads, so responses are reproducible."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"livehandoff:cx:{kind}:{display_name}"))


__all__ = ["CxAgentError", "load_cx_agent", "parse_cx_agent"]
