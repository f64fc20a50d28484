"""Intent detection for a CX page, reusing the ES emulator's matcher.

In CX only the intents of routes *in scope* can match: the current page's routes and the flow's
routes (on the start page, the flow's alone). A text the other intents would fit better is a
no-match, not a wrong intent. So each scope gets its own ES :class:`Matcher` over just its intents
(built on first use and kept), translated into the ES emulator's records: a CX parameter becomes an
ES parameter whose value is ``$<id>``, and an annotated part of a training phrase carries the
parameter's id as its alias, which is how the ES slot alignment extracts values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from types import MappingProxyType

from livehandoff.emulators.dialogflow.cx.model import CxAgent, CxIntent, Page
from livehandoff.emulators.dialogflow.matcher import Matcher
from livehandoff.emulators.dialogflow.model import (
    Agent,
    EntityEntry,
    EntityType,
    Intent,
    IntentParameter,
    JsonValue,
)


@dataclass(frozen=True, slots=True)
class IntentMatch:
    """The intent detected for a text (``None``: no match) with its parameters."""

    intent: CxIntent | None
    confidence: float = 0.0
    parameters: dict[str, JsonValue] = field(default_factory=dict)
    originals: dict[str, JsonValue] = field(default_factory=dict)


class ScopedMatcher:
    """One matcher per page scope of a CX agent."""

    def __init__(self, agent: CxAgent) -> None:
        self._agent = agent
        self._entities = MappingProxyType(
            {
                entity.display_name: EntityType(
                    entity.display_name,
                    MappingProxyType(
                        {agent.language: tuple(EntityEntry(e.value, e.synonyms) for e in entity.entries)}
                    ),
                )
                for entity in agent.entity_types
            }
        )
        self._matchers: dict[str | None, Matcher] = {}

    def match(self, text: str, page: Page | None) -> IntentMatch:
        """The best in-scope intent for ``text`` on ``page`` (``None``: the start page)."""
        key = None if page is None else page.display_name
        if key not in self._matchers:
            self._matchers[key] = self._build(_scope_intents(self._agent, page))
        found = self._matchers[key].match_text(text, self._agent.language, ())
        if found.intent is None:
            return IntentMatch(None)
        return IntentMatch(
            self._agent.intent(found.intent.display_name),
            found.confidence,
            dict(found.parameters),
            dict(found.originals),
        )

    def _build(self, names: Iterable[str]) -> Matcher:
        wanted = set(names)
        intents = tuple(
            _es_intent(i, self._agent.language) for i in self._agent.intents if i.display_name in wanted
        )
        agent = Agent(
            display_name=self._agent.display_name,
            default_language=self._agent.language,
            ml_min_confidence=self._agent.classification_threshold,
            intents=intents,
            entities=self._entities,
        )
        return Matcher(agent)


def _scope_intents(agent: CxAgent, page: Page | None) -> list[str]:
    routes = [*(page.routes if page is not None else ()), *agent.flow.routes]
    return [route.intent for route in routes]


def _es_intent(intent: CxIntent, language: str) -> Intent:
    return Intent(
        id=intent.id,
        display_name=intent.display_name,
        parameters=tuple(
            IntentParameter(name=p.id, entity_type=p.entity_type, value=f"${p.id}", is_list=p.is_list)
            for p in intent.parameters
        ),
        phrases=MappingProxyType({language: intent.phrases}),
    )


__all__ = ["IntentMatch", "ScopedMatcher"]
