"""The training phrases of one agent language, prepared for fast similarity scoring.

Each phrase becomes a *template*: its normalised words, with a placeholder token where an annotated
entity of a recognisable class was, and a gap where a free-text annotation (``@sys.any`` ...) was.
Templates are turned into unit TF-IDF vectors and kept in an inverted index, so scoring a query
touches only the phrases that share a feature with it. Every intent also gets a centroid (the
normalised sum of its phrase vectors), which rewards words that are typical of the intent as a
whole rather than of one phrase ("email" for the e-mail intents).

Phrases with gaps are scored a second way: the user's words that align with the gap are set aside
and the rest is compared with the template, slightly discounted by how much of the text the gap
swallowed. That is how "tell your developers the app is great" fits "tell your developers <any>".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from livehandoff.emulators.dialogflow.entities import EntityMatch, EntityRecognizer, entity_class
from livehandoff.emulators.dialogflow.model import Agent, PhrasePart
from livehandoff.emulators.dialogflow.slots import Reading, Slot, gap_words
from livehandoff.emulators.dialogflow.text import (
    Token,
    Vector,
    features,
    idf_table,
    placeholder,
    tokenize,
    weigh,
)

#: How strongly a gap that swallows the whole text discounts the gap-aware score.
GAP_DISCOUNT = 0.5


@dataclass(frozen=True, slots=True)
class IndexedPhrase:
    """A training phrase prepared for scoring."""

    intent: int
    template: tuple[str, ...]
    slots: tuple[Slot, ...]
    vector: Vector

    @property
    def has_gaps(self) -> bool:
        return any(slot.entity_class is None for slot in self.slots)


class LanguageIndex:
    """Phrases, feature postings and intent centroids of one language; built once, read-only after."""

    def __init__(self, agent: Agent, language: str) -> None:
        self.language = language
        templates: list[tuple[int, tuple[str, ...], tuple[Slot, ...]]] = []
        classes: set[str] = set()
        for number, intent in enumerate(agent.intents):
            for phrase in () if intent.is_disabled else intent.phrases.get(language, ()):
                template, slots = _template(phrase.parts)
                if template:
                    templates.append((number, template, slots))
                    classes.update(s.entity_class for s in slots if s.entity_class is not None)
            classes.update(c for p in intent.parameters if (c := entity_class(p.entity_type)) is not None)
        self.recognizer = EntityRecognizer(agent, language, classes)
        counts = [features(template, language) for _, template, _ in templates]
        self._idf = idf_table(counts)
        self._unseen_idf = max(self._idf.values(), default=1.0)
        self.phrases = [
            IndexedPhrase(number, template, slots, weigh(count, self._idf, self._unseen_idf))
            for (number, template, slots), count in zip(templates, counts, strict=True)
        ]
        self._postings = _postings(enumerate(p.vector for p in self.phrases))
        self._centroids = _postings(_centroids(self.phrases).items())

    def vector(self, words: Sequence[str]) -> Vector:
        return weigh(features(words, self.language), self._idf, self._unseen_idf)

    def phrase_scores(self, reading: Reading) -> dict[int, float]:
        """Similarity of the reading with every phrase sharing a feature with it (gap-aware)."""
        scores = _dot_all(self.vector(reading.words), self._postings)
        for number in list(scores):
            phrase = self.phrases[number]
            if phrase.has_gaps:
                scores[number] = max(scores[number], self._gap_score(reading.words, phrase))
        return scores

    def centroid_scores(self, reading: Reading) -> dict[int, float]:
        """Similarity of the reading with each intent's centroid, keyed by intent number."""
        return _dot_all(self.vector(reading.words), self._centroids)

    def readings(self, text: str) -> list[Reading]:
        """The text as typed and, when entities are found, with their values as placeholders."""
        tokens = tokenize(text)
        plain = Reading(
            text,
            tuple(t.norm for t in tokens),
            (None,) * len(tokens),
            tuple((t.start, t.end) for t in tokens),
        )
        found = self.recognizer.find(text, tokens)
        return [plain, _substitute(text, tokens, found)] if found else [plain]

    def _gap_score(self, words: Sequence[str], phrase: IndexedPhrase) -> float:
        gap = gap_words(words, phrase.template, phrase.slots)
        rest = [word for position, word in enumerate(words) if position not in gap]
        if not gap or not rest:
            return 0.0
        similarity = sum(w * phrase.vector.get(k, 0.0) for k, w in self.vector(rest).items())
        return similarity * (1.0 - GAP_DISCOUNT * len(gap) / len(words))


def _template(parts: Sequence[PhrasePart]) -> tuple[tuple[str, ...], tuple[Slot, ...]]:
    """Plain parts are joined before tokenising: exports split words (``it`` + ``'s good``)."""
    template: list[str] = []
    slots: list[Slot] = []
    plain = ""
    for part in parts:
        if not (part.is_annotated and part.alias and part.entity_type):
            plain += part.text
            continue
        template.extend(token.norm for token in tokenize(plain))
        plain = ""
        cls = entity_class(part.entity_type)
        slots.append(Slot(part.alias, part.entity_type, cls, len(template)))
        if cls is not None:
            template.append(placeholder(cls))
    template.extend(token.norm for token in tokenize(plain))
    return tuple(template), tuple(slots)


def _substitute(text: str, tokens: Sequence[Token], found: Sequence[EntityMatch]) -> Reading:
    words: list[str] = []
    entities: list[EntityMatch | None] = []
    spans: list[tuple[int, int]] = []
    by_first = {match.first: match for match in found}
    position = 0
    while position < len(tokens):
        match = by_first.get(position)
        last = position if match is None else match.last
        words.append(tokens[position].norm if match is None else placeholder(match.entity_class))
        entities.append(match)
        spans.append((tokens[position].start, tokens[last].end))
        position = last + 1
    return Reading(text, tuple(words), tuple(entities), tuple(spans))


def _centroids(phrases: Sequence[IndexedPhrase]) -> dict[int, Vector]:
    sums: dict[int, dict[str, float]] = {}
    for phrase in phrases:
        total = sums.setdefault(phrase.intent, {})
        for key, weight in phrase.vector.items():
            total[key] = total.get(key, 0.0) + weight
    return {intent: weigh(total, {}, 1.0) for intent, total in sums.items()}


def _postings(vectors: Iterable[tuple[int, Vector]]) -> dict[str, list[tuple[int, float]]]:
    postings: dict[str, list[tuple[int, float]]] = {}
    for number, vector in vectors:
        for key, weight in vector.items():
            postings.setdefault(key, []).append((number, weight))
    return postings


def _dot_all(
    vector: Mapping[str, float], postings: Mapping[str, list[tuple[int, float]]]
) -> dict[int, float]:
    totals: dict[int, float] = {}
    for key, weight in vector.items():
        for number, other in postings.get(key, ()):
            totals[number] = totals.get(number, 0.0) + weight * other
    return totals
