"""Parameter values from the user's text, by aligning it with the training phrase that matched.

An annotated part of a training phrase is a *slot*. Slots of entity classes the emulator recognises
(developer entities, numbers, e-mail, URL, phone) sit in the phrase template as placeholder tokens and
take the entity value recognised at the aligned position of the user's text. Other slots
(``@sys.any``, dates, names ...) are gaps in the template: they take the user's words between the
words aligned just before and just after the gap, e.g. "tell your developers <the app is great>".

Parameters of the intent that no slot of the winning phrase filled still get the first unused
recognised value of their entity class, which is how a paraphrase like "order 4711 status" fills
``@sys.number`` without a phrase of that exact shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from livehandoff.emulators.dialogflow.entities import EntityMatch, convert, entity_class
from livehandoff.emulators.dialogflow.model import Intent, JsonValue


@dataclass(frozen=True, slots=True)
class Slot:
    """An annotated part of a phrase; ``position`` indexes the template (placeholder or gap)."""

    alias: str
    entity_type: str
    entity_class: str | None
    position: int


@dataclass(frozen=True, slots=True)
class Reading:
    """The user's text as the matcher read it: tokens, their entity values and character spans."""

    text: str
    words: tuple[str, ...]
    entities: tuple[EntityMatch | None, ...]
    spans: tuple[tuple[int, int], ...]


def extract_parameters(
    intent: Intent, template: Sequence[str], slots: Sequence[Slot], reading: Reading
) -> tuple[dict[str, JsonValue], dict[str, JsonValue]]:
    """``(values, originals)`` keyed by parameter alias, for the aliases the text fills."""
    aligned = _align(reading.words, template)
    values: dict[str, list[JsonValue]] = {}
    originals: dict[str, list[JsonValue]] = {}
    used: set[int] = set()
    for slot in slots:
        found = _fill(slot, aligned, reading)
        if found is not None:
            value, original, positions = found
            values.setdefault(slot.alias, []).append(value)
            originals.setdefault(slot.alias, []).append(original)
            used.update(positions)
    for parameter in intent.parameters:
        alias = parameter.value[1:] if parameter.value.startswith("$") else ""
        cls = entity_class(parameter.entity_type)
        if not alias or alias in values or cls is None:
            continue
        for position, match in enumerate(reading.entities):
            if match is not None and match.entity_class == cls and position not in used:
                values.setdefault(alias, []).append(convert(parameter.entity_type, match))
                originals.setdefault(alias, []).append(match.original)
                used.add(position)
                if not parameter.is_list:
                    break
    lists = {p.value[1:] for p in intent.parameters if p.is_list and p.value.startswith("$")}
    return _collapse(values, lists), _collapse(originals, lists)


def gap_words(words: Sequence[str], template: Sequence[str], slots: Sequence[Slot]) -> set[int]:
    """Positions of ``words`` that fall into the phrase's free slots (``@sys.any`` and the like)."""
    aligned = _align(words, template)
    covered: set[int] = set()
    for slot in slots:
        if slot.entity_class is None:
            covered.update(_gap(slot, aligned, len(words)))
    return covered


def _gap(slot: Slot, aligned: dict[int, int], size: int) -> range:
    before = [q for t, q in aligned.items() if t < slot.position]
    after = [q for t, q in aligned.items() if t >= slot.position]
    return range(max(before, default=-1) + 1, min(after, default=size))


def _fill(slot: Slot, aligned: dict[int, int], reading: Reading) -> tuple[JsonValue, JsonValue, range] | None:
    if slot.entity_class is not None:
        position = aligned.get(slot.position)
        match = reading.entities[position] if position is not None else None
        if position is None or match is None or match.entity_class != slot.entity_class:
            return None
        return convert(slot.entity_type, match), match.original, range(position, position + 1)
    gap = _gap(slot, aligned, len(reading.words))
    if not gap:
        return None
    words = reading.text[reading.spans[gap[0]][0] : reading.spans[gap[-1]][1]]
    return words, words, gap


def _align(words: Sequence[str], template: Sequence[str]) -> dict[int, int]:
    """Template index -> query index for the words both share, in order."""
    matcher = SequenceMatcher(None, list(words), list(template), autojunk=False)
    aligned: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            aligned[block.b + offset] = block.a + offset
    return aligned


def _collapse(found: dict[str, list[JsonValue]], lists: set[str]) -> dict[str, JsonValue]:
    return {alias: (list(items) if alias in lists else items[0]) for alias, items in found.items()}
