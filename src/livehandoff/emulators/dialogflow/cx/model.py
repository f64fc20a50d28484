"""A scripted CX agent as the emulator sees it: frozen, validated records read from a definition file.

The shapes follow Dialogflow CX's own resources (``Intent``, ``Flow``, ``Page``, ``TransitionRoute``,
``EventHandler``, ``Fulfillment``) with display names where CX uses resource names, so a definition
reads like the console and the loader (``definition.py``) is the only place that knows the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from livehandoff.emulators.dialogflow.model import EntityEntry, JsonValue, TrainingPhrase

#: CX's default NLU classification threshold.
DEFAULT_CLASSIFICATION_THRESHOLD = 0.3

#: Symbolic transition targets of CX (``TransitionRoute.target_page`` special pages).
END_SESSION = "END_SESSION"
END_FLOW = "END_FLOW"
START_PAGE = "START_PAGE"
CURRENT_PAGE = "CURRENT_PAGE"
PREVIOUS_PAGE = "PREVIOUS_PAGE"
SPECIAL_TARGETS = frozenset({END_SESSION, END_FLOW, START_PAGE, CURRENT_PAGE, PREVIOUS_PAGE})

#: The built-in event CX raises when no in-scope intent matched the text.
NO_MATCH_EVENT = "sys.no-match-default"

MessageKind = Literal["text", "payload", "liveAgentHandoff", "endInteraction", "conversationSuccess"]


def _empty() -> Mapping[str, JsonValue]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class CxMessage:
    """One fulfillment message; ``texts`` are a text message's variants, ``data`` a payload or metadata."""

    kind: MessageKind
    texts: tuple[str, ...] = ()
    data: Mapping[str, JsonValue] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class ParameterAction:
    """A parameter preset: ``value`` ``None`` removes the session parameter."""

    parameter: str
    value: JsonValue


@dataclass(frozen=True, slots=True)
class Fulfillment:
    """What happens when a route, handler or page entry runs: presets first, then messages."""

    messages: tuple[CxMessage, ...] = ()
    set_parameters: tuple[ParameterAction, ...] = ()


@dataclass(frozen=True, slots=True)
class CxParameter:
    """An intent parameter; ``entity_type`` is ``@sys.number`` or ``@<entity type display name>``."""

    id: str
    entity_type: str
    is_list: bool = False


@dataclass(frozen=True, slots=True)
class CxIntent:
    """An intent with its training phrases in the agent's language."""

    id: str
    display_name: str
    phrases: tuple[TrainingPhrase, ...] = ()
    parameters: tuple[CxParameter, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    """A transition route on an intent; ``target`` is a page display name, a special target or None."""

    intent: str
    fulfillment: Fulfillment = field(default_factory=Fulfillment)
    target: str | None = None


@dataclass(frozen=True, slots=True)
class EventHandler:
    """What an event (custom, or ``sys.no-match-default``) does on a page or in the flow."""

    event: str
    fulfillment: Fulfillment = field(default_factory=Fulfillment)
    target: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """A page of the flow; its routes and handlers are in scope only while it is the current page."""

    id: str
    display_name: str
    entry: Fulfillment = field(default_factory=Fulfillment)
    routes: tuple[Route, ...] = ()
    handlers: tuple[EventHandler, ...] = ()


@dataclass(frozen=True, slots=True)
class Flow:
    """The one flow of the agent; its routes and handlers are in scope on every page."""

    display_name: str
    routes: tuple[Route, ...] = ()
    handlers: tuple[EventHandler, ...] = ()
    pages: tuple[Page, ...] = ()

    def page(self, display_name: str) -> Page:
        """A page by display name; raises ``KeyError`` when there is none."""
        for page in self.pages:
            if page.display_name == display_name:
                return page
        raise KeyError(display_name)


@dataclass(frozen=True, slots=True)
class CxEntityType:
    display_name: str
    entries: tuple[EntityEntry, ...]


@dataclass(frozen=True, slots=True)
class CxAgent:
    """A whole scripted CX agent."""

    display_name: str
    language: str
    flow: Flow
    intents: tuple[CxIntent, ...] = ()
    entity_types: tuple[CxEntityType, ...] = ()
    classification_threshold: float = DEFAULT_CLASSIFICATION_THRESHOLD

    def intent(self, display_name: str) -> CxIntent:
        """An intent by display name; raises ``KeyError`` when there is none."""
        for intent in self.intents:
            if intent.display_name == display_name:
                return intent
        raise KeyError(display_name)
