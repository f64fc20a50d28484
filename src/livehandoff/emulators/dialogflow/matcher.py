"""Pure intent matching: user text (or an event name) plus the active contexts in, an intent out.

Text matching follows the outline Dialogflow documents for ES and the reference's suggested
algorithm (``dialogflow.md`` §5.7):

1. Candidates are the intents whose input contexts are all active; intents with a negative
   priority never match, and intents without phrases (event-only ones) never match text.
2. The user's text is compared with the candidates' phrases (``index.py``): an intent's score blends
   its best phrase with its centroid, for the text as typed and with recognised entity values
   replaced by placeholders, whichever is higher. A verbatim training phrase scores 1.0.
3. Intents whose input contexts are active get a small ranking bonus, so follow-ups win ties against
   their context-free look-alikes, as in the console; priority moves the ranking a little too.
4. Below the threshold, the fallback intent with the most satisfied input contexts wins. Training
   phrases of fallback intents are negative examples: when one of them ranks first, the result is
   that fallback too. Fallback results report confidence 1.0, as Dialogflow does.
5. Parameters come from aligning the user's text with the winning phrase (``slots.py``).

Everything is deterministic: ties go to the intent that comes first in the export (sorted by file).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from livehandoff.emulators.dialogflow.index import IndexedPhrase, LanguageIndex
from livehandoff.emulators.dialogflow.model import NORMAL_PRIORITY, Agent, Intent, JsonValue
from livehandoff.emulators.dialogflow.slots import Reading, extract_parameters

#: Share of an intent's score that comes from its centroid rather than its best phrase.
CENTROID_WEIGHT = 0.6
#: A phrase similarity this high means the text is the training phrase itself.
EXACT = 0.999
#: Similarity -> confidence, piecewise linear through these points (see ``calibrate``).
CALIBRATION = ((0.0, 0.0), (0.25, 0.3), (0.35, 0.6), (1.0, 1.0))
#: Added to the ranking score of intents gated by (active) input contexts.
CONTEXT_BONUS = 0.08
#: How much one priority step (Normal -> High) moves the ranking score.
PRIORITY_WEIGHT = 0.02
#: Intents with ML switched off ("auto": false) match only (nearly) verbatim phrases.
RULE_ONLY_SCORE = 0.9


@dataclass(frozen=True, slots=True)
class Match:
    """The outcome of one text or event query; ``intent`` is ``None`` when nothing matched."""

    intent: Intent | None
    confidence: float
    parameters: Mapping[str, JsonValue] = field(default_factory=lambda: MappingProxyType({}))
    originals: Mapping[str, JsonValue] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class _Candidate:
    rank: float
    score: float
    phrase: IndexedPhrase
    reading: Reading


class Matcher:
    """Matches queries against one agent; a language's index is built on its first query."""

    def __init__(self, agent: Agent, *, threshold: float | None = None) -> None:
        self.agent = agent
        self.threshold = agent.ml_min_confidence if threshold is None else threshold
        self._indexes: dict[str, LanguageIndex] = {}

    def index(self, language: str) -> LanguageIndex:
        if language not in self._indexes:
            self._indexes[language] = LanguageIndex(self.agent, language)
        return self._indexes[language]

    def match_text(self, text: str, language: str, active_contexts: Collection[str]) -> Match:
        """The intent for ``text`` in ``language`` given the active context names (lower-case)."""
        index = self.index(language)
        best: _Candidate | None = None
        for reading in index.readings(text):
            candidate = self._best(index, reading, active_contexts)
            if candidate is not None and (best is None or candidate.rank > best.rank + 1e-9):
                best = candidate
        if best is None:
            return self._fallback(active_contexts)
        intent = self.agent.intents[best.phrase.intent]
        if intent.is_fallback:
            return Match(intent=intent, confidence=1.0)
        values, originals = extract_parameters(intent, best.phrase.template, best.phrase.slots, best.reading)
        return Match(
            intent=intent,
            confidence=round(best.score, 6),
            parameters=MappingProxyType(values),
            originals=MappingProxyType(originals),
        )

    def match_event(self, name: str, active_contexts: Collection[str]) -> Match:
        """The intent triggered by event ``name``; ones gated by more active contexts win.

        Event names are compared exactly first and case-insensitively second.
        """
        available = [intent for intent in self.agent.intents if _available(intent, active_contexts)]
        found = [i for i in available if name in i.events] or [
            i for i in available if any(event.casefold() == name.casefold() for event in i.events)
        ]
        if not found:
            return Match(intent=None, confidence=0.0)
        return Match(intent=self._most_specific(found), confidence=1.0)

    def _best(
        self, index: LanguageIndex, reading: Reading, active_contexts: Collection[str]
    ) -> _Candidate | None:
        centroids = index.centroid_scores(reading)
        best: _Candidate | None = None
        for number, similarity in sorted(index.phrase_scores(reading).items()):
            phrase = index.phrases[number]
            intent = self.agent.intents[phrase.intent]
            if not _available(intent, active_contexts):
                continue
            if not intent.ml_enabled and similarity < RULE_ONLY_SCORE:
                continue
            blended = (1 - CENTROID_WEIGHT) * similarity + CENTROID_WEIGHT * centroids.get(phrase.intent, 0.0)
            score = 1.0 if similarity >= EXACT else calibrate(blended)
            if score < self.threshold:
                continue
            rank = score + _bonus(intent)
            if best is None or rank > best.rank + 1e-9:
                best = _Candidate(rank, score, phrase, reading)
        return best

    def _fallback(self, active_contexts: Collection[str]) -> Match:
        fallbacks = [i for i in self.agent.intents if i.is_fallback and _available(i, active_contexts)]
        if not fallbacks:
            return Match(intent=None, confidence=0.0)
        return Match(intent=self._most_specific(fallbacks), confidence=1.0)

    def _most_specific(self, intents: list[Intent]) -> Intent:
        order = {id(intent): n for n, intent in enumerate(self.agent.intents)}
        return max(intents, key=lambda i: (len(i.input_contexts), i.priority, -order[id(i)]))


def calibrate(similarity: float) -> float:
    """Map a similarity onto Dialogflow's confidence scale, where thresholds are set.

    Measured on the two real exports: unrelated questions score below about 0.25 and paraphrases
    of training phrases mostly above 0.35. The points put those at Dialogflow's default threshold
    (0.3) and at the strict 0.6 the prebuilt Small-Talk agent uses, so both agents' own
    ``mlMinConfidence`` values keep their meaning.
    """
    similarity = min(max(similarity, 0.0), 1.0)
    for (x0, y0), (x1, y1) in itertools.pairwise(CALIBRATION):
        if similarity <= x1:
            return y0 + (y1 - y0) * (similarity - x0) / (x1 - x0)
    return 1.0


def _available(intent: Intent, active_contexts: Collection[str]) -> bool:
    return not intent.is_disabled and all(name in active_contexts for name in intent.input_contexts)


def _bonus(intent: Intent) -> float:
    context = CONTEXT_BONUS if intent.input_contexts else 0.0
    return context + PRIORITY_WEIGHT * (intent.priority - NORMAL_PRIORITY) / 250_000
