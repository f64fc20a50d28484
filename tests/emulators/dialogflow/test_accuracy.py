"""How many training phrases of the real exports come back as their own intent.

Each phrase is matched with the intent's input contexts active (follow-up intents are only reachable
that way) and the agent's own threshold. Training phrases measure fitting; the cross-validated
figures (every fifth phrase of each intent held out, five times) measure paraphrases the matcher
has not seen. Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from livehandoff.emulators.dialogflow import Agent
from livehandoff.emulators.dialogflow.matcher import Matcher
from livehandoff.emulators.dialogflow.model import Intent

FOLDS = 5


def training_accuracy(agent: Agent, language: str) -> tuple[int, int]:
    matcher = Matcher(agent)
    hits = total = 0
    for intent in agent.intents:
        for phrase in intent.phrases.get(language, ()):
            total += 1
            hits += matcher.match_text(phrase.text, language, set(intent.input_contexts)).intent is intent
    return hits, total


def cross_validated_accuracy(agent: Agent, language: str) -> tuple[int, int]:
    hits = total = 0
    for fold in range(FOLDS):
        trained = dataclasses.replace(
            agent, intents=tuple(_without_fold(i, language, fold) for i in agent.intents)
        )
        matcher = Matcher(trained)
        for intent, kept in zip(agent.intents, trained.intents, strict=True):
            for phrase in intent.phrases.get(language, ())[fold::FOLDS]:
                total += 1
                hits += matcher.match_text(phrase.text, language, set(intent.input_contexts)).intent is kept
    return hits, total


def _without_fold(intent: Intent, language: str, fold: int) -> Intent:
    phrases = intent.phrases.get(language, ())
    kept = tuple(p for n, p in enumerate(phrases) if n % FOLDS != fold)
    return dataclasses.replace(intent, phrases=MappingProxyType({**intent.phrases, language: kept}))


def printed(label: str, figures: tuple[int, int]) -> tuple[int, int]:
    """``figures`` (hits, total) as they are, printed after ``label`` as one line of what ``-s`` shows."""
    hits, total = figures
    print(f"\n{label}: {hits}/{total} phrases matched their intent ({hits / total:.1%})")
    return figures


def test_support_english_training_phrases(support_agent: Agent) -> None:
    hits, total = printed("Support.zip en, training", training_accuracy(support_agent, "en"))
    assert total == 408
    assert hits / total >= 0.95, f"{hits}/{total}"


def test_support_german_training_phrases(support_agent: Agent) -> None:
    hits, total = printed("Support.zip de, training", training_accuracy(support_agent, "de"))
    assert hits / total >= 0.95, f"{hits}/{total}"


def test_small_talk_english_training_phrases(small_talk_agent: Agent) -> None:
    hits, total = printed("Small-Talk.zip en, training", training_accuracy(small_talk_agent, "en"))
    assert hits / total >= 0.95, f"{hits}/{total}"


def test_demo_agent_training_phrases(demo_agent: Agent) -> None:
    for language in demo_agent.languages:
        hits, total = training_accuracy(demo_agent, language)
        assert hits == total, f"{language}: {hits}/{total}"


def test_support_english_cross_validated(support_agent: Agent) -> None:
    hits, total = printed("Support.zip en, held out", cross_validated_accuracy(support_agent, "en"))
    assert hits / total >= 0.85, f"{hits}/{total}"


def test_small_talk_english_cross_validated(small_talk_agent: Agent) -> None:
    hits, total = printed("Small-Talk.zip en, held out", cross_validated_accuracy(small_talk_agent, "en"))
    assert hits / total >= 0.7, f"{hits}/{total}"
