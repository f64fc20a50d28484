"""The pure matcher: phrases, paraphrases, fallback, contexts, parameters, events, languages."""

from __future__ import annotations

import dataclasses

import pytest

from livehandoff.emulators.dialogflow import Agent
from livehandoff.emulators.dialogflow.matcher import Matcher, calibrate


@pytest.fixture(scope="module")
def demo(demo_agent: Agent) -> Matcher:
    return Matcher(demo_agent)


@pytest.mark.parametrize(
    ("text", "language", "intent"),
    [
        ("hi", "en", "Default Welcome Intent"),
        ("good morning!", "en", "Default Welcome Intent"),
        ("Opening hours", "en", "faq.opening_hours"),
        ("when do you open on saturday?", "en", "faq.opening_hours"),
        ("Shipping", "en", "faq.shipping"),
        ("how long will delivery take to Germany", "en", "faq.shipping"),
        ("can I return these shoes", "en", "faq.returns"),
        ("I want my money back", "en", "faq.returns"),
        ("do you take visa", "en", "faq.payment"),
        ("where's my order 88812", "en", "order.status"),
        ("Talk to a person", "en", "human.handoff"),
        ("agent", "en", "human.handoff"),
        ("I want to talk to an agent", "en", "human.handoff"),
        ("I'd like to speak with a human being", "en", "human.handoff"),
        ("let me talk to a real person", "en", "human.handoff"),
        ("real person please!", "en", "human.handoff"),
        ("who are you?", "en", "bot.identity"),
        ("bye", "en", "conversation.goodbye"),
        ("hallo", "de", "Default Welcome Intent"),
        ("wann habt ihr offen?", "de", "faq.opening_hours"),
        ("ich will mit einem menschen reden", "de", "human.handoff"),
        ("kann ich mit kreditkarte zahlen", "de", "faq.payment"),
    ],
)
def test_demo_phrases_and_paraphrases(demo: Matcher, text: str, language: str, intent: str) -> None:
    match = demo.match_text(text, language, set())
    assert match.intent is not None
    assert match.intent.display_name == intent
    assert 0.3 <= match.confidence <= 1.0


@pytest.mark.parametrize(
    "text", ["what's the weather in Paris", "do you sell bikes", "asdf qwerty", "the package hasn't arrived"]
)
def test_unrelated_text_falls_back(demo: Matcher, text: str) -> None:
    match = demo.match_text(text, "en", set())
    assert match.intent is not None
    assert match.intent.display_name == "Default Fallback Intent"
    assert match.intent.is_fallback
    assert match.confidence == 1.0


def test_threshold_override(demo_agent: Agent) -> None:
    strict = Matcher(demo_agent, threshold=0.99)
    assert strict.threshold == 0.99
    assert strict.match_text("let me talk to a real person", "en", set()).intent == demo_agent.intent(
        "Default Fallback Intent"
    )
    assert strict.match_text("talk to a human", "en", set()).intent == demo_agent.intent("human.handoff")


def test_exact_training_phrase_scores_one(demo: Matcher) -> None:
    assert demo.match_text("Talk to a human", "en", set()).confidence == 1.0


def test_input_contexts_gate_follow_up_intents(demo: Matcher, demo_agent: Agent) -> None:
    without = demo.match_text("it still hasn't arrived", "en", set())
    assert without.intent == demo_agent.intent("Default Fallback Intent")
    within = demo.match_text("it still hasn't arrived", "en", {"order-followup"})
    assert within.intent == demo_agent.intent("order.problem")


def test_active_context_wins_a_tie(support_agent: Agent) -> None:
    matcher = Matcher(support_agent)
    plain = matcher.match_text("your website", "en", set())
    followed = matcher.match_text("your website", "en", {"support-contacts"})
    assert plain.intent is not None
    assert plain.intent.display_name == "support.contacts.website"
    assert followed.intent is not None
    assert followed.intent.display_name == "support.contacts - context:support-contacts - comment:website"


def test_number_parameter(demo: Matcher) -> None:
    match = demo.match_text("where is my order 4711?", "en", set())
    assert dict(match.parameters) == {"order_number": 4711.0}
    assert dict(match.originals) == {"order_number": "4711"}


def test_number_parameter_outside_any_phrase_shape(demo: Matcher) -> None:
    assert dict(demo.match_text("order 12345 status", "en", set()).parameters) == {"order_number": 12345.0}


def test_custom_entity_by_synonym(demo: Matcher) -> None:
    match = demo.match_text("can I pay with a Mastercard?", "en", set())
    assert dict(match.parameters) == {"payment_method": "credit card"}
    assert dict(match.originals) == {"payment_method": "Mastercard"}
    german = demo.match_text("kann ich auf Rechnung bezahlen", "de", set())
    assert dict(german.parameters) == {"payment_method": "invoice"}


def test_free_text_parameter(support_agent: Agent) -> None:
    match = Matcher(support_agent).match_text(
        "tell your developers the app crashes all the time", "en", set()
    )
    assert match.intent is not None
    assert match.intent.display_name == "support.feedback"
    assert dict(match.parameters) == {"message": "the app crashes all the time"}


def test_custom_entity_in_a_follow_up(support_agent: Agent) -> None:
    match = Matcher(support_agent).match_text("and what about your FB page", "en", {"support-contacts"})
    assert match.intent is not None
    assert match.intent.action == "support.contacts.social_media"
    assert dict(match.parameters) == {"media": "Facebook"}


def test_negative_examples_mean_fallback(support_agent: Agent) -> None:
    match = Matcher(support_agent).match_text("No, I don't want a refund", "en", set())
    assert match.intent is not None
    assert match.intent.is_fallback


@pytest.mark.parametrize(
    ("event", "intent"), [("WELCOME", "Default Welcome Intent"), ("LIVEHANDOFF_ENDED", "livehandoff.ended")]
)
def test_events(demo: Matcher, demo_agent: Agent, event: str, intent: str) -> None:
    match = demo.match_event(event, set())
    assert match.intent == demo_agent.intent(intent)
    assert match.confidence == 1.0


def test_event_names_fall_back_to_case_insensitive(demo: Matcher, demo_agent: Agent) -> None:
    assert demo.match_event("welcome", set()).intent == demo_agent.intent("Default Welcome Intent")


def test_unknown_event_matches_nothing(demo: Matcher) -> None:
    assert demo.match_event("NO_SUCH_EVENT", set()).intent is None


def test_event_only_intents_never_match_text(demo: Matcher, demo_agent: Agent) -> None:
    assert demo.match_text("LIVEHANDOFF_ENDED", "en", set()).intent == demo_agent.intent(
        "Default Fallback Intent"
    )


def test_negative_priority_disables_an_intent(demo_agent: Agent) -> None:
    intents = tuple(
        dataclasses.replace(i, priority=-1) if i.display_name == "human.handoff" else i
        for i in demo_agent.intents
    )
    matcher = Matcher(dataclasses.replace(demo_agent, intents=intents))
    assert matcher.match_text("talk to a human", "en", set()).intent != demo_agent.intent("human.handoff")


def test_matching_is_deterministic(demo_agent: Agent) -> None:
    texts = ["talk to a human", "where is my order 12", "what about shipping to Spain", "hmm"]
    first = [Matcher(demo_agent).match_text(t, "en", set()) for t in texts]
    second = [Matcher(demo_agent).match_text(t, "en", set()) for t in texts]
    assert first == second


def test_calibration_is_monotonic_and_bounded() -> None:
    points = [calibrate(x / 100) for x in range(-10, 111)]
    assert points == sorted(points)
    assert points[0] == 0.0
    assert points[-1] == 1.0
