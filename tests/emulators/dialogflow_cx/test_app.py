"""CX detectIntent over HTTP (``httpx.ASGITransport``): routing, pages, parameters, events, errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from google.cloud.dialogflowcx_v3 import types

from livehandoff.emulators.dialogflow.cx import CxAgent

from .conftest import SESSION, Clock, client_for, detector, query_body, texts

AGENT_PATH = "projects/test-project/locations/global/agents/test-agent"
FLOW = f"{AGENT_PATH}/flows/00000000-0000-0000-0000-000000000000"


# --- routing and pages -----------------------------------------------------------------------------


async def test_a_flow_route(booking: httpx.AsyncClient, booking_agent: CxAgent) -> None:
    result = await detector(booking)("hello")
    greet = booking_agent.intent("greet")
    assert result["text"] == "hello"
    assert result["languageCode"] == "en"
    assert result["responseMessages"] == [{"text": {"text": ["Hello!"]}, "responseType": "HANDLER_PROMPT"}]
    assert result["match"] == {
        "intent": {"name": f"{AGENT_PATH}/intents/{greet.id}", "displayName": "greet"},
        "resolvedInput": "hello",
        "matchType": "INTENT",
        "confidence": 1.0,
    }
    assert result["intent"]["displayName"] == "greet"
    assert result["currentPage"] == {"name": f"{FLOW}/pages/START_PAGE", "displayName": "Start Page"}
    assert result["currentFlow"] == {"name": FLOW, "displayName": "Default Start Flow"}
    assert "parameters" not in result


async def test_a_transition_runs_the_page_entry_fulfillment(
    booking: httpx.AsyncClient, booking_agent: CxAgent
) -> None:
    result = await detector(booking)("I want to reserve a table")
    page = booking_agent.flow.page("Booking")
    assert result["currentPage"] == {"name": f"{FLOW}/pages/{page.id}", "displayName": "Booking"}
    assert result["responseMessages"] == [
        {"text": {"text": ["For how many people?"]}, "responseType": "ENTRY_PROMPT"}
    ]
    assert result["parameters"] == {"stage": "booking"}


async def test_page_routes_are_in_scope_only_on_their_page(booking: httpx.AsyncClient) -> None:
    detect = detector(booking)
    outside = await detect("yes please")
    assert outside["match"] == {
        "resolvedInput": "yes please",
        "matchType": "NO_MATCH",
        "event": "sys.no-match-default",
    }
    assert texts(outside) == ["Sorry?"]
    await detect("book a table")
    inside = await detect("yes please")
    assert inside["match"]["intent"]["displayName"] == "confirm"


async def test_flow_routes_stay_in_scope_on_a_page(booking: httpx.AsyncClient) -> None:
    detect = detector(booking)
    await detect("book a table")
    result = await detect("hello")
    assert texts(result) == ["Hello!"]
    assert result["currentPage"]["displayName"] == "Booking"


async def test_the_page_no_match_handler_wins_over_the_flows(booking: httpx.AsyncClient) -> None:
    detect = detector(booking)
    await detect("book a table")
    result = await detect("what is the meaning of life")
    assert result["match"]["matchType"] == "NO_MATCH"
    assert texts(result) == ["Please say yes or go back."]


async def test_previous_page(booking: httpx.AsyncClient) -> None:
    detect = detector(booking)
    await detect("book a table")
    result = await detect("go back")
    assert result["currentPage"]["displayName"] == "Start Page"
    assert texts(await detect("yes")) == ["Sorry?"]


async def test_end_session_ends_with_end_interaction_and_starts_afresh(booking: httpx.AsyncClient) -> None:
    detect = detector(booking)
    await detect("book a table for 4 people")
    done = await detect("yes")
    assert done["responseMessages"] == [
        {"text": {"text": ["Booked!"]}, "responseType": "ENTRY_PROMPT"},
        {"conversationSuccess": {"metadata": {"booked": True}}, "responseType": "ENTRY_PROMPT"},
        {"endInteraction": {}},
    ]
    assert done["currentPage"] == {"name": f"{FLOW}/pages/END_SESSION", "displayName": "End Session"}
    assert done["parameters"] == {"guests": 4.0, "stage": "booking"}
    fresh = await detect("yes")
    assert fresh["match"]["matchType"] == "NO_MATCH"
    assert "parameters" not in fresh


async def test_end_session_as_a_route_target(booking: httpx.AsyncClient) -> None:
    result = await detector(booking)("goodbye")
    assert result["responseMessages"][-1] == {"endInteraction": {}}
    assert texts(result) == ["Bye!"]


# --- parameters ------------------------------------------------------------------------------------


async def test_intent_parameters_become_session_parameters(booking: httpx.AsyncClient) -> None:
    result = await detector(booking)("book a table for 6 people")
    assert result["match"]["parameters"] == {"guests": 6.0}
    assert result["parameters"] == {"guests": 6.0, "stage": "booking"}
    assert texts(result) == ["A table for 6, right?"]


async def test_entity_values_and_originals(booking: httpx.AsyncClient) -> None:
    result = await detector(booking)("tell me about delivery")
    assert result["match"]["parameters"] == {"topic": "shipping"}
    assert texts(result) == ["About shipping (you said delivery)."]


async def test_presets_and_metadata_references(booking: httpx.AsyncClient) -> None:
    detect = detector(booking)
    await detect("book a table for 2 people")
    result = await detect("I need help")
    assert result["responseMessages"][1]["liveAgentHandoff"]["metadata"] == {
        "group": "Billing",
        "guests": 2.0,
        "missing": None,
        "note": "party of 2",
    }
    assert result["parameters"]["handoff"] is True


async def test_query_parameters_are_session_parameters(booking: httpx.AsyncClient) -> None:
    detect = detector(booking)
    await detect("book a table for 2 people")
    result = await detect("hello", parameters={"guests": None, "vip": True})
    assert result["parameters"] == {"stage": "booking", "vip": True}


async def test_sessions_expire(booking_agent: CxAgent, clock: Clock) -> None:
    async with client_for(booking_agent, clock) as http:
        detect = detector(http)
        await detect("book a table for 2 people")
        clock.now += 29 * 60
        assert (await detect("hello"))["currentPage"]["displayName"] == "Booking"
        clock.now += 31 * 60
        expired = await detect("hello")
    assert expired["currentPage"]["displayName"] == "Start Page"
    assert "parameters" not in expired


async def test_sessions_are_keyed_by_full_path(booking: httpx.AsyncClient) -> None:
    detect = detector(booking)
    await detect("book a table", session=SESSION)
    other = await detect("yes", session=f"{AGENT_PATH}/environments/prod/sessions/s-1")
    assert other["match"]["matchType"] == "NO_MATCH"


# --- events ---------------------------------------------------------------------------------------


async def test_event_with_parameters(booking: httpx.AsyncClient) -> None:
    result = await detector(booking)(event="PING", parameters={"who": "Anna"})
    assert result["triggerEvent"] == "PING"
    assert "text" not in result
    assert result["match"] == {"matchType": "EVENT", "event": "PING"}
    assert texts(result) == ["pong Anna"]
    assert result["parameters"] == {"who": "Anna"}


async def test_the_page_event_handler_wins_over_the_flows(booking: httpx.AsyncClient) -> None:
    detect = detector(booking)
    await detect("book a table")
    assert texts(await detect(event="PING")) == ["pong from booking"]


async def test_an_unhandled_event_says_nothing(booking: httpx.AsyncClient) -> None:
    result = await detector(booking)(event="NOBODY_LISTENS")
    assert result["match"] == {"matchType": "EVENT", "event": "NOBODY_LISTENS"}
    assert "responseMessages" not in result


async def test_the_demo_welcome_back(demo: httpx.AsyncClient) -> None:
    detect = detector(demo)
    handoff = await detect("talk to a person")
    assert handoff["responseMessages"][1]["liveAgentHandoff"] == {
        "metadata": {"group": "0", "reason": "customer asked"}
    }
    back = await detect(event="LIVEHANDOFF_ENDED", parameters={"agent_name": "Anna", "ended_by": "agent"})
    assert texts(back) == [
        "Welcome back! Thanks for chatting with Anna. I'm the bot again — anything else I can help with?"
    ]
    assert back["responseMessages"][1]["payload"] == {
        "quick_replies": ["Opening hours", "Shipping", "Returns", "Talk to a person"]
    }
    assert "handoff_requested" not in back["parameters"]


async def test_the_demo_order_problem_hands_off_with_the_order_number(demo: httpx.AsyncClient) -> None:
    detect = detector(demo)
    assert (await detect("it hasn't arrived"))["match"]["matchType"] == "NO_MATCH"
    status = await detect("where is my order 4711")
    assert texts(status)[0].startswith("Order 4711 is on its way")
    problem = await detect("it still hasn't arrived")
    assert problem["responseMessages"][1]["liveAgentHandoff"]["metadata"] == {
        "group": "0",
        "reason": "order problem",
        "order_number": 4711.0,
    }
    assert problem["currentPage"]["displayName"] == "Start Page"


# --- the wire ---------------------------------------------------------------------------------------


async def test_responses_parse_strictly_with_the_official_type(booking: httpx.AsyncClient) -> None:
    for body in (query_body("book a table for 2 people"), query_body("yes"), query_body(event="PING")):
        response = await booking.post(f"/v3/{SESSION}:detectIntent", json=body)
        types.DetectIntentResponse.from_json(response.text, ignore_unknown_fields=False)


async def test_integer_enum_encoding(booking: httpx.AsyncClient) -> None:
    response = await booking.post(
        f"/v3/{SESSION}:detectIntent?%24alt=json%3Benum-encoding%3Dint", json=query_body("hello")
    )
    assert response.json()["queryResult"]["match"]["matchType"] == int(types.Match.MatchType.INTENT)


async def test_text_of_256_characters_is_fine(booking: httpx.AsyncClient) -> None:
    assert (await detector(booking)("a" * 256))["match"]["matchType"] == "NO_MATCH"


async def test_another_language_is_answered_in_the_agents(booking: httpx.AsyncClient) -> None:
    detect = detector(booking)
    assert (await detect("hello", language="en-GB"))["languageCode"] == "en-GB"
    assert (await detect("hello", language="fr"))["languageCode"] == "en"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (query_body("a" * 257), "Input text exceeds 256 characters."),
        (query_body("   "), "Input text not set."),
        (query_body("hi", language=""), "Language code not set: the query input needs a languageCode."),
        ({}, "Query input not set: send queryInput.text or queryInput.event."),
        ({"queryInput": {"event": {}, "languageCode": "en"}}, "Event name not set."),
    ],
)
async def test_invalid_argument(booking: httpx.AsyncClient, body: dict[str, Any], message: str) -> None:
    response = await booking.post(f"/v3/{SESSION}:detectIntent", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}


async def test_session_id_longer_than_36_characters(booking: httpx.AsyncClient) -> None:
    session = f"{AGENT_PATH}/sessions/{'x' * 37}"
    response = await booking.post(f"/v3/{session}:detectIntent", json=query_body("hi"))
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": 400,
        "message": "Session ID must not exceed 36 characters.",
        "status": "INVALID_ARGUMENT",
    }


async def test_unknown_fields_and_malformed_json(booking: httpx.AsyncClient) -> None:
    unknown = await booking.post(
        f"/v3/{SESSION}:detectIntent", json={"queryInput": {"txt": {"text": "hi"}, "languageCode": "en"}}
    )
    assert (unknown.status_code, unknown.json()["error"]["status"]) == (400, "INVALID_ARGUMENT")
    assert "txt" in unknown.json()["error"]["message"]
    malformed = await booking.post(f"/v3/{SESSION}:detectIntent", content=b"{not json")
    assert malformed.json()["error"]["message"].startswith("Invalid JSON payload received.")


async def test_unsupported_inputs(booking: httpx.AsyncClient) -> None:
    body = {"queryInput": {"dtmf": {"digits": "12"}, "languageCode": "en"}}
    response = await booking.post(f"/v3/{SESSION}:detectIntent", json=body)
    assert (response.status_code, response.json()["error"]["status"]) == (501, "UNIMPLEMENTED")


@pytest.mark.parametrize(
    "path",
    [
        f"/v3/{SESSION}:matchIntent",
        "/v3/projects/p/agent/sessions/s-1:detectIntent",
        "/v3/projects/p/locations/l/agents/a:detectIntent",
        "/v2/projects/p/agent/sessions/s-1:detectIntent",
    ],
)
async def test_unknown_paths(booking: httpx.AsyncClient, path: str) -> None:
    response = await booking.post(path, json=query_body("hi"))
    assert response.status_code == 404
    assert response.json()["error"]["status"] == "NOT_FOUND"


async def test_wrong_method(booking: httpx.AsyncClient) -> None:
    response = await booking.get(f"/v3/{SESSION}:detectIntent")
    assert (response.status_code, response.json()["error"]["code"]) == (405, 405)
