"""Which messages a turn answers with, and how text variants are chosen and filled."""

from __future__ import annotations

from livehandoff.emulators.dialogflow import Agent
from livehandoff.emulators.dialogflow.model import Intent, ResponseMessage
from livehandoff.emulators.dialogflow.responses import (
    TurnOutcome,
    choose_variant,
    select_messages,
    substitute,
)

MIXED = Intent(
    id="1",
    display_name="mixed",
    messages=(
        ResponseMessage(kind="text", language="en", texts=("hello",)),
        ResponseMessage(kind="card", language="en", platform="slack", title="slack only"),
        ResponseMessage(kind="text", language="pt-br", texts=("olá",)),
    ),
)


def test_only_default_platform_messages() -> None:
    assert [m.texts for m in select_messages(MIXED, "en", "en")] == [("hello",)]


def test_language_then_base_language_then_default() -> None:
    assert select_messages(MIXED, "pt-br", "en")[0].texts == ("olá",)
    assert select_messages(MIXED, "en-gb", "en")[0].texts == ("hello",)
    assert select_messages(MIXED, "fr", "en")[0].texts == ("hello",)


def test_support_messages_without_text_are_dropped(support_agent: Agent) -> None:
    assert select_messages(support_agent.intent("support.about"), "en", "en") == []


def test_variant_choice_is_stable_and_varies_by_turn() -> None:
    texts = [f"variant {n}" for n in range(10)]
    assert choose_variant(texts, "s", 1, 0) == choose_variant(texts, "s", 1, 0)
    assert len({choose_variant(texts, "s", turn, 0) for turn in range(1, 30)}) > 1


def outcome(**parameters: object) -> TurnOutcome:
    return TurnOutcome(
        session="projects/p/agent/sessions/s",
        agent_path="projects/p/agent",
        turn=1,
        query_text="",
        language="en",
        intent=None,
        confidence=1.0,
        parameters=parameters,  # type: ignore[arg-type]
        originals={"order_number": "4711"},
        all_required_present=True,
        contexts={},
        references={"order-followup": {"order_number": 4711.0}},
    )


def test_parameter_references_are_filled() -> None:
    filled = outcome(order_number=4711.0)
    assert substitute("Order $order_number", filled) == "Order 4711"
    assert substitute("typed: $order_number.original", filled) == "typed: 4711"
    assert substitute("Order #order-followup.order_number", filled) == "Order 4711"
    assert substitute("unknown $nothing here", filled) == "unknown  here"
