"""The agent as the emulator sees it: frozen, already-validated records read from an ES export.

Everything here is plain data. The loader (``export.py``) turns the export's loosely typed JSON into
these records once, so the matcher and the response builder never have to second-guess a field that
was a string in one export and a number in another (``"type": "0"`` vs ``0``).

Language tags are stored lower-cased with ``-`` separators (``pt-br``), as the export file names use
them. Context names are stored lower-cased because Dialogflow treats context ids case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

#: Normal intent priority; the export writes 500000 and the API maps 0 to it.
NORMAL_PRIORITY = 500_000

#: Dialogflow's default ML classification threshold when ``mlMinConfidence`` is absent.
DEFAULT_ML_MIN_CONFIDENCE = 0.3

MessageKind = Literal["text", "card", "quick_replies", "image", "payload"]

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


def _empty_mapping() -> Mapping[str, JsonValue]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PhrasePart:
    """One segment of a training phrase; ``entity_type`` and ``alias`` are set for annotated parts."""

    text: str
    entity_type: str | None = None
    alias: str | None = None

    @property
    def is_annotated(self) -> bool:
        """``@sys.ignore`` and alias-less annotations behave as plain text, as in the console."""
        return bool(self.entity_type and self.alias and self.entity_type != "@sys.ignore")


@dataclass(frozen=True, slots=True)
class TrainingPhrase:
    """A user example of one intent in one language."""

    parts: tuple[PhrasePart, ...]
    language: str

    @property
    def text(self) -> str:
        return "".join(part.text for part in self.parts)


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    postback: str


@dataclass(frozen=True, slots=True)
class ResponseMessage:
    """One console response; ``platform`` is ``""`` for the Default tab."""

    kind: MessageKind
    language: str
    platform: str = ""
    texts: tuple[str, ...] = ()
    title: str = ""
    subtitle: str = ""
    image_uri: str = ""
    buttons: tuple[Button, ...] = ()
    replies: tuple[str, ...] = ()
    payload: Mapping[str, JsonValue] = field(default_factory=_empty_mapping)


@dataclass(frozen=True, slots=True)
class ContextSpec:
    """An output context an intent sets: ``lifespan`` turns, 0 deactivates it."""

    name: str
    lifespan: int
    parameters: Mapping[str, JsonValue] = field(default_factory=_empty_mapping)


@dataclass(frozen=True, slots=True)
class IntentParameter:
    """A parameter definition; ``value`` is ``$alias``, ``#context.param`` or a literal."""

    name: str
    entity_type: str
    value: str
    default_value: str = ""
    required: bool = False
    is_list: bool = False
    prompts: tuple[tuple[str, str], ...] = ()

    def prompts_for(self, language: str, default_language: str) -> tuple[str, ...]:
        """The slot-filling prompts in ``language``, its base language, or the default language."""
        for candidate in (language, language.split("-")[0], default_language):
            found = tuple(text for lang, text in self.prompts if lang == candidate)
            if found:
                return found
        return ()


@dataclass(frozen=True, slots=True)
class Intent:
    """One intent of the agent with its phrases for every language it has."""

    id: str
    display_name: str
    action: str = ""
    input_contexts: tuple[str, ...] = ()
    output_contexts: tuple[ContextSpec, ...] = ()
    reset_contexts: bool = False
    events: tuple[str, ...] = ()
    parameters: tuple[IntentParameter, ...] = ()
    messages: tuple[ResponseMessage, ...] = ()
    phrases: Mapping[str, tuple[TrainingPhrase, ...]] = field(default_factory=lambda: MappingProxyType({}))
    priority: int = NORMAL_PRIORITY
    is_fallback: bool = False
    ml_enabled: bool = True
    live_agent_handoff: bool = False
    end_interaction: bool = False
    webhook_used: bool = False

    @property
    def is_disabled(self) -> bool:
        """A negative priority switches an intent off at runtime (``Intent.priority`` docs)."""
        return self.priority < 0


@dataclass(frozen=True, slots=True)
class EntityEntry:
    value: str
    synonyms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EntityType:
    """A developer entity; ``entries`` are keyed by language."""

    name: str
    entries: Mapping[str, tuple[EntityEntry, ...]]
    is_regexp: bool = False
    is_enum: bool = False


@dataclass(frozen=True, slots=True)
class Agent:
    """A whole ES agent export."""

    display_name: str
    default_language: str
    supported_languages: tuple[str, ...] = ()
    ml_min_confidence: float = DEFAULT_ML_MIN_CONFIDENCE
    time_zone: str = ""
    intents: tuple[Intent, ...] = ()
    entities: Mapping[str, EntityType] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def languages(self) -> tuple[str, ...]:
        """The default language first, then the additional ones in export order."""
        extra = tuple(lang for lang in self.supported_languages if lang != self.default_language)
        return (self.default_language, *extra)

    def intent(self, display_name: str) -> Intent:
        """Look an intent up by display name; raises ``KeyError`` when there is none."""
        for intent in self.intents:
            if intent.display_name == display_name:
                return intent
        raise KeyError(display_name)
