"""Finding entity values in user text: developer entities by synonym, a few system entities by shape.

Dialogflow's system entities are a large trained model; the emulator recognises the ones whose
shape is unambiguous (numbers, e-mail addresses, URLs, phone numbers) and leaves the rest to the
matcher's slot alignment, which takes whatever text sits where the training phrase had the
annotation. That is the "reasonable best effort" for ``@sys.any``, ``@sys.date``, names and so on.

Every recognised value belongs to an *entity class*: the developer entity's name (``@media``) or a
system class (all number-like types share ``@sys.number``), so an annotation of
``@sys.number-integer`` in a phrase and a number typed by the user line up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from livehandoff.emulators.dialogflow.model import Agent, EntityEntry, JsonValue
from livehandoff.emulators.dialogflow.text import Token, tokenize

_NUMBER_TYPES = frozenset(
    {"@sys.number", "@sys.number-integer", "@sys.cardinal", "@sys.number-sequence", "@sys.flight-number"}
)
_INTEGER_TYPES = frozenset({"@sys.number-integer", "@sys.cardinal"})
_STRING_TYPES = frozenset({"@sys.number-sequence", "@sys.flight-number"})

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?:https?://|www\.)[^\s]+[^\s.,!?;:)]")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d ()./-]{5,}\d(?!\w)")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)?(?![\w])")
_NUMBER_WORDS: Mapping[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class EntityMatch:
    """A value found in the user's text; ``first``/``last`` index the tokens it covers."""

    entity_class: str
    value: JsonValue
    original: str
    first: int
    last: int


def entity_class(entity_type: str) -> str | None:
    """The class a phrase annotation belongs to, or ``None`` when the emulator cannot recognise it."""
    if entity_type in _NUMBER_TYPES:
        return "@sys.number"
    if entity_type in {"@sys.email", "@sys.url", "@sys.phone-number"}:
        return entity_type
    if entity_type.startswith("@") and not entity_type.startswith("@sys."):
        return entity_type
    return None


def convert(entity_type: str, match: EntityMatch) -> JsonValue:
    """The parameter value for an annotation of ``entity_type`` filled by ``match``."""
    if entity_type in _INTEGER_TYPES and isinstance(match.value, float):
        return float(int(match.value))
    if entity_type in _STRING_TYPES:
        return match.original
    return match.value


class EntityRecognizer:
    """Finds values of the entity classes one agent language uses, leftmost-longest first."""

    def __init__(self, agent: Agent, language: str, classes: Iterable[str]) -> None:
        self._classes = frozenset(classes)
        self._synonyms = _synonym_table(agent, language, self._classes)
        self._english = language.startswith("en")
        self._regexps = [
            (f"@{entity.name}", re.compile(synonym, re.IGNORECASE), entry.value)
            for entity in agent.entities.values()
            if entity.is_regexp and f"@{entity.name}" in self._classes
            for entry in _entries(entity.entries, language, agent.default_language)
            for synonym in entry.synonyms
        ]

    def find(self, text: str, tokens: Sequence[Token]) -> list[EntityMatch]:
        """Non-overlapping matches in token order."""
        candidates = [*self._synonym_matches(text, tokens), *self._shape_matches(text, tokens)]
        candidates.sort(key=lambda m: (m.first, -(m.last - m.first)))
        chosen: list[EntityMatch] = []
        for match in candidates:
            if not chosen or match.first > chosen[-1].last:
                chosen.append(match)
        return chosen

    def _synonym_matches(self, text: str, tokens: Sequence[Token]) -> Iterable[EntityMatch]:
        words = [token.norm for token in tokens]
        longest = max((len(key) for key in self._synonyms), default=0)
        for first in range(len(words)):
            for size in range(min(longest, len(words) - first), 0, -1):
                hit = self._synonyms.get(tuple(words[first : first + size]))
                if hit is not None:
                    original = text[tokens[first].start : tokens[first + size - 1].end]
                    yield EntityMatch(hit[0], hit[1], original, first, first + size - 1)
                    break

    def _shape_matches(self, text: str, tokens: Sequence[Token]) -> Iterable[EntityMatch]:
        shapes: list[tuple[str, re.Pattern[str], Callable[[str], JsonValue]]] = [
            ("@sys.email", _EMAIL, str),
            ("@sys.url", _URL, str),
            ("@sys.phone-number", _PHONE, str),
            ("@sys.number", _NUMBER, _number),
        ]
        shapes.extend((cls, pattern, _constant(value)) for cls, pattern, value in self._regexps)
        for cls, pattern, resolve in shapes:
            if cls not in self._classes:
                continue
            for m in pattern.finditer(text):
                span = _token_span(tokens, m.start(), m.end())
                if span is not None:
                    yield EntityMatch(cls, resolve(m.group()), m.group(), *span)
        if "@sys.number" in self._classes and self._english:
            for index, token in enumerate(tokens):
                if token.norm in _NUMBER_WORDS:
                    yield EntityMatch(
                        "@sys.number", float(_NUMBER_WORDS[token.norm]), token.norm, index, index
                    )


def _synonym_table(
    agent: Agent, language: str, classes: frozenset[str]
) -> dict[tuple[str, ...], tuple[str, JsonValue]]:
    table: dict[tuple[str, ...], tuple[str, JsonValue]] = {}
    for name in sorted(agent.entities):
        entity = agent.entities[name]
        if entity.is_regexp or f"@{name}" not in classes:
            continue
        for entry in _entries(entity.entries, language, agent.default_language):
            if entry.value.startswith("@"):
                continue
            for synonym in (*entry.synonyms, entry.value):
                key = tuple(token.norm for token in tokenize(synonym))
                if key:
                    table.setdefault(key, (f"@{name}", entry.value))
    return table


def _entries(
    entries: Mapping[str, tuple[EntityEntry, ...]], language: str, default: str
) -> tuple[EntityEntry, ...]:
    return entries.get(language) or entries.get(language.split("-")[0]) or entries.get(default) or ()


def _token_span(tokens: Sequence[Token], start: int, end: int) -> tuple[int, int] | None:
    covered = [i for i, token in enumerate(tokens) if token.start >= start and token.end <= end]
    return (covered[0], covered[-1]) if covered else None


def _number(text: str) -> JsonValue:
    cleaned = text.replace(",", ".") if text.count(",") == 1 and len(text.split(",")[1]) != 3 else text
    try:
        return float(cleaned.replace(",", ""))
    except ValueError:
        return text


def _constant(value: str) -> Callable[[str], JsonValue]:
    return lambda _text: value


__all__ = ["EntityMatch", "EntityRecognizer", "convert", "entity_class"]
