"""Loading CX agent definitions: the demo, the local fixture, and every kind of broken file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from livehandoff.emulators.dialogflow.cx import CxAgent, CxAgentError, load_cx_agent, parse_cx_agent
from livehandoff.emulators.dialogflow.cx.model import END_SESSION
from livehandoff.errors import InvalidInput

from .conftest import AGENTS


def test_the_demo_agent(demo_agent: CxAgent) -> None:
    assert demo_agent.language == "en"
    assert demo_agent.flow.display_name == "Default Start Flow"
    handoff = next(r for r in demo_agent.flow.routes if r.intent == "human.handoff")
    [text, live_agent] = handoff.fulfillment.messages
    assert text.kind == "text"
    assert live_agent.kind == "liveAgentHandoff"
    assert dict(live_agent.data) == {"group": "0", "reason": "customer asked"}
    events = {handler.event for handler in demo_agent.flow.handlers}
    assert {"LIVEHANDOFF_ENDED", "sys.no-match-default"} <= events
    assert [page.display_name for page in demo_agent.flow.pages] == ["Order Status"]


def test_the_booking_fixture(booking_agent: CxAgent) -> None:
    book = booking_agent.intent("book")
    assert [p.id for p in book.parameters] == ["guests"]
    annotated = [part for phrase in book.phrases for part in phrase.parts if part.alias]
    assert [(part.text, part.alias, part.entity_type) for part in annotated] == [
        ("4", "guests", "@sys.number-integer")
    ]
    [entity] = booking_agent.entity_types
    assert entity.display_name == "topic"
    assert booking_agent.flow.page("Confirmed").entry.messages[-1].kind == "endInteraction"
    assert next(r for r in booking_agent.flow.routes if r.intent == "bye").target == END_SESSION


def test_ids_are_stable_across_loads(booking_agent: CxAgent) -> None:
    again = load_cx_agent(AGENTS / "booking.json")
    assert [i.id for i in again.intents] == [i.id for i in booking_agent.intents]
    assert again.flow.page("Booking").id == booking_agent.flow.page("Booking").id


def test_snake_case_messages_are_accepted() -> None:
    handoff = {"live_agent_handoff": {"metadata": {"group": 2}}}
    agent = parse_cx_agent(with_route(triggerFulfillment={"messages": [handoff]}))
    [message] = agent.flow.routes[0].fulfillment.messages
    assert (message.kind, dict(message.data)) == ("liveAgentHandoff", {"group": 2.0})


def minimal() -> dict[str, Any]:
    """The smallest valid definition."""
    return {
        "intents": [{"displayName": "hi", "trainingPhrases": ["hi"]}],
        "flow": {"transitionRoutes": [{"intent": "hi"}]},
    }


def with_agent(**keys: Any) -> dict[str, Any]:
    data = minimal()
    data.update(keys)
    return data


def with_intent(**keys: Any) -> dict[str, Any]:
    data = minimal()
    data["intents"][0].update(keys)
    return data


def with_flow(**keys: Any) -> dict[str, Any]:
    data = minimal()
    data["flow"].update(keys)
    return data


def with_route(**keys: Any) -> dict[str, Any]:
    data = minimal()
    data["flow"]["transitionRoutes"][0].update(keys)
    return data


def with_messages(*messages: Any) -> dict[str, Any]:
    return with_route(triggerFulfillment={"messages": list(messages)})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param([], "agent: expected a JSON object", id="not-an-object"),
        pytest.param({"intents": []}, "the agent needs a 'flow'", id="no-flow"),
        pytest.param(with_agent(language="en"), "agent: unknown key 'language'", id="unknown-key"),
        pytest.param(
            with_agent(intents=[{"trainingPhrases": ["x"]}]),
            "intents[0]: 'displayName' is required",
            id="intent-without-name",
        ),
        pytest.param(
            with_agent(intents=[{"displayName": "hi"}, {"displayName": "hi"}]),
            "intents: two intents are named 'hi'",
            id="duplicate-intent",
        ),
        pytest.param(with_intent(trainingPhrases=[""]), "must not be empty", id="empty-phrase"),
        pytest.param(
            with_intent(trainingPhrases=[{"parts": [{"text": "a", "parameterId": "x"}]}]),
            "intents[0].trainingPhrases[0].parts[0]: parameterId 'x' is not a parameter",
            id="undeclared-parameter",
        ),
        pytest.param(
            with_intent(parameters=[{"id": "x", "entityType": "@colour"}]),
            "unknown entity type '@colour'",
            id="unknown-entity-type",
        ),
        pytest.param(
            with_flow(transitionRoutes=[{"intent": "hello"}]),
            "flow.transitionRoutes[0]: unknown intent 'hello'",
            id="unknown-intent",
        ),
        pytest.param(
            with_route(targetPage="Nowhere"),
            "targetPage 'Nowhere' is neither a page nor a symbolic target",
            id="unknown-page",
        ),
        pytest.param(
            with_route(condition="$session.params.x = 1"),
            "route conditions are not supported",
            id="condition",
        ),
        pytest.param(
            with_flow(pages=[{"displayName": "END_SESSION"}]), "'END_SESSION' is reserved", id="reserved-page"
        ),
        pytest.param(
            with_flow(pages=[{"displayName": "A"}, {"displayName": "A"}]),
            "flow.pages: two pages are named 'A'",
            id="duplicate-page",
        ),
        pytest.param(
            with_flow(eventHandlers=[{"triggerFulfillment": {}}]),
            "flow.eventHandlers[0]: 'event' is required",
            id="handler-without-event",
        ),
        pytest.param(
            with_messages({"txt": {}}),
            "flow.transitionRoutes[0].triggerFulfillment.messages[0]: not a CX ResponseMessage",
            id="not-a-response-message",
        ),
        pytest.param(
            with_messages({"playAudio": {"audioUri": "gs://a/b.wav"}}),
            "unsupported message kind 'play_audio'",
            id="unsupported-message",
        ),
        pytest.param(
            with_messages({"text": {"text": [""]}}),
            "a text message needs at least one non-empty text",
            id="empty-text",
        ),
        pytest.param(
            with_route(triggerFulfillment={"setParameterActions": [{"value": 1}]}),
            "setParameterActions[0]: 'parameter' is required",
            id="preset-without-parameter",
        ),
        pytest.param(with_agent(classificationThreshold=2), "classificationThreshold", id="threshold"),
    ],
)
def test_invalid_definitions(data: Any, message: str) -> None:
    with pytest.raises(CxAgentError, match=re.escape(message)):
        parse_cx_agent(data)


def test_errors_name_the_file_and_are_value_errors(tmp_path: Path) -> None:
    path = tmp_path / "agent.json"
    path.write_text(json.dumps(with_route(intent="nope")))
    with pytest.raises(
        ValueError, match=r"agent\.json: flow\.transitionRoutes\[0\]: unknown intent"
    ) as caught:
        load_cx_agent(path)
    assert isinstance(caught.value, InvalidInput)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CxAgentError, match="does not exist"):
        load_cx_agent(tmp_path / "absent.json")


def test_a_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "agent.json"
    path.write_text("{not json")
    with pytest.raises(CxAgentError, match="is not a JSON file"):
        load_cx_agent(path)
