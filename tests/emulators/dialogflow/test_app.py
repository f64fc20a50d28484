"""detectIntent over HTTP (``httpx.ASGITransport``): paths, response shape, contexts, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from livehandoff.emulators.dialogflow import Agent, create_app

from .conftest import SESSION, DetectIntent

ENGLISH_HANDOFF_TEXT = "Let me connect you with a person."


async def test_welcome_event(detect: DetectIntent, demo_agent: Agent) -> None:
    result = await detect(event="WELCOME")
    welcome = demo_agent.intent("Default Welcome Intent")
    assert result["queryText"] == "WELCOME"
    assert result["action"] == "input.welcome"
    assert result["intent"] == {
        "name": f"projects/demo-project/agent/intents/{welcome.id}",
        "displayName": "Default Welcome Intent",
    }
    assert result["intentDetectionConfidence"] == 1.0
    assert result["languageCode"] == "en"
    text, replies = result["fulfillmentMessages"]
    assert result["fulfillmentText"] == text["text"]["text"][0]
    assert replies["quickReplies"]["quickReplies"] == [
        "Opening hours",
        "Shipping",
        "Returns",
        "Talk to a person",
    ]


async def test_handoff_intent_flags(detect: DetectIntent) -> None:
    result = await detect("I want to talk to an agent")
    assert result["intent"]["displayName"] == "human.handoff"
    assert result["intent"]["liveAgentHandoff"] is True
    assert result["action"] == "handoff"
    assert result["fulfillmentMessages"] == [{"text": {"text": [ENGLISH_HANDOFF_TEXT]}}]


async def test_goodbye_ends_the_interaction(detect: DetectIntent) -> None:
    result = await detect("goodbye")
    assert result["intent"]["endInteraction"] is True
    assert result["diagnosticInfo"] == {"end_conversation": True}
    assert "liveAgentHandoff" not in result["intent"]


async def test_fallback(detect: DetectIntent) -> None:
    result = await detect("what's the weather in Paris")
    assert result["intent"]["isFallback"] is True
    assert result["action"] == "input.unknown"
    assert result["intentDetectionConfidence"] == 1.0


async def test_card_image_and_payload_messages(detect: DetectIntent) -> None:
    shipping = (await detect("shipping"))["fulfillmentMessages"]
    assert shipping[1]["card"]["title"] == "Shipping options"
    assert shipping[1]["card"]["buttons"][0] == {"text": "Track my order", "postback": "where is my order"}
    payment = (await detect("payment methods"))["fulfillmentMessages"]
    assert payment[1] == {"image": {"imageUri": "https://example.com/livehandoff/payment-methods.png"}}
    hours = (await detect("opening hours"))["fulfillmentMessages"]
    assert hours[1]["payload"]["timeZone"] == "Europe/Berlin"


async def test_output_context_with_parameters_then_follow_up(detect: DetectIntent) -> None:
    result = await detect("where is my order 4711")
    assert result["parameters"] == {"order_number": 4711.0}
    assert result["fulfillmentText"] == "Order 4711 is on its way and should arrive within two business days."
    assert result["outputContexts"] == [
        {
            "name": f"{SESSION}/contexts/order-followup",
            "lifespanCount": 2,
            "parameters": {"order_number": 4711.0, "order_number.original": "4711"},
        }
    ]
    follow_up = await detect("it still hasn't arrived")
    assert follow_up["intent"]["displayName"] == "order.problem"
    assert "4711" in follow_up["fulfillmentText"]


async def test_contexts_lose_one_turn_per_query(detect: DetectIntent) -> None:
    await detect("where is my order 4711")
    assert (await detect("hi"))["outputContexts"][0]["lifespanCount"] == 1
    assert "outputContexts" not in await detect("hi")
    assert (await detect("it still hasn't arrived"))["intent"]["isFallback"] is True


async def test_query_params_contexts_are_honoured(detect: DetectIntent) -> None:
    context = {
        "name": f"{SESSION}/contexts/order-followup",
        "lifespanCount": 1,
        "parameters": {"order_number": 99},
    }
    result = await detect("it still hasn't arrived", contexts=[context])
    assert result["intent"]["displayName"] == "order.problem"
    assert result["parameters"] == {"order_number": 99.0}


async def test_query_params_reset_contexts(detect: DetectIntent) -> None:
    await detect("where is my order 4711")
    result = await detect("it still hasn't arrived", resetContexts=True)
    assert result["intent"]["isFallback"] is True


async def test_a_missing_parameter_picks_the_variant_without_it(detect: DetectIntent) -> None:
    asked = await detect("where is my order")
    assert asked["intent"]["displayName"] == "order.status"
    assert asked["parameters"] == {"order_number": ""}
    assert asked["fulfillmentText"].startswith("I can check that for you.")
    answered = await detect("80417")
    assert answered["intent"]["displayName"] == "order.status"
    assert answered["parameters"] == {"order_number": 80417.0}
    assert answered["fulfillmentText"].startswith("Order 80417 is on its way")


async def test_event_parameters_and_reset(detect: DetectIntent) -> None:
    await detect("where is my order 4711")
    sent = {"agent_name": "Anna", "ended_by": "agent", "duration_seconds": 95}
    result = await detect(event="LIVEHANDOFF_ENDED", parameters=sent)
    assert result["queryText"] == "LIVEHANDOFF_ENDED"
    assert result["intent"]["displayName"] == "livehandoff.ended"
    assert result["parameters"] == {"agent_name": "Anna", "ended_by": "agent", "duration_seconds": 95.0}
    assert (
        result["fulfillmentText"]
        == "Welcome back! I hope Anna could help. I'm the bot again — anything else?"
    )
    assert "outputContexts" not in result


@pytest.mark.parametrize(
    ("language", "answer"), [("de", "Ich verbinde dich mit einer Person."), ("en-US", ENGLISH_HANDOFF_TEXT)]
)
async def test_languages(detect: DetectIntent, language: str, answer: str) -> None:
    text = "ich will mit einem menschen reden" if language == "de" else "talk to a human"
    result = await detect(text, language=language)
    assert result["fulfillmentText"] == answer
    assert result["languageCode"] == language.split("-")[0]


async def test_unsupported_language_uses_the_default(detect: DetectIntent) -> None:
    result = await detect("talk to a human", language="fr")
    assert result["languageCode"] == "en"
    assert result["fulfillmentText"] == ENGLISH_HANDOFF_TEXT


@pytest.mark.parametrize(
    "session",
    [
        "projects/p/agent/sessions/s-1",
        "projects/p/agent/environments/draft/users/u-1/sessions/s-1",
        "projects/p/locations/europe-west2/agent/sessions/s-1",
        "projects/p/locations/europe-west2/agent/environments/prod/users/-/sessions/s-1",
    ],
)
async def test_session_path_variants(detect: DetectIntent, session: str) -> None:
    result = await detect("where is my order 7", session=session)
    agent_path = session.split("/sessions/")[0].split("/environments/")[0]
    assert result["intent"]["name"].startswith(f"{agent_path}/intents/")
    assert result["outputContexts"][0]["name"] == f"{session}/contexts/order-followup"


async def test_sessions_are_keyed_by_full_path(detect: DetectIntent) -> None:
    await detect("where is my order 7", session="projects/p/agent/sessions/a")
    other = await detect(
        "it still hasn't arrived", session="projects/p/agent/environments/e/users/u/sessions/a"
    )
    assert other["intent"]["isFallback"] is True


async def test_text_variants_are_reproducible(demo_agent: Agent) -> None:
    async def first_welcome() -> Any:
        transport = httpx.ASGITransport(app=create_app(demo_agent))
        async with httpx.AsyncClient(transport=transport, base_url="http://df") as http:
            body = {"queryInput": {"event": {"name": "WELCOME", "languageCode": "en"}}}
            response = await http.post(f"/v2/{SESSION}:detectIntent", json=body)
            return response.json()

    assert await first_welcome() == await first_welcome()


async def test_threshold_override(demo_agent: Agent) -> None:
    transport = httpx.ASGITransport(app=create_app(demo_agent, threshold=0.99))
    async with httpx.AsyncClient(transport=transport, base_url="http://df") as http:
        body = {"queryInput": {"text": {"text": "let me talk to a real person", "languageCode": "en"}}}
        response = await http.post(f"/v2/{SESSION}:detectIntent", json=body)
    assert response.json()["queryResult"]["intent"]["isFallback"] is True


async def test_integer_enum_encoding_is_accepted(client: httpx.AsyncClient) -> None:
    body = {"queryInput": {"text": {"text": "hi", "languageCode": "en"}}}
    response = await client.post(f"/v2/{SESSION}:detectIntent?%24alt=json%3Benum-encoding%3Dint", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


async def test_256_characters_are_fine(detect: DetectIntent) -> None:
    assert (await detect("a" * 256))["intent"]["isFallback"] is True


def text_body(text: str, language: str = "en") -> dict[str, Any]:
    return {"queryInput": {"text": {"text": text, "languageCode": language}}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (text_body("a" * 257), "Input text exceeds 256 characters."),
        (text_body("   "), "Input text not set."),
        (text_body("hi", language=""), "Language code not set: the query input needs a languageCode."),
        ({}, "Query input not set: send queryInput.text or queryInput.event."),
        ({"queryInput": {"event": {"languageCode": "en"}}}, "Event name not set."),
    ],
)
async def test_invalid_argument(client: httpx.AsyncClient, body: dict[str, Any], message: str) -> None:
    response = await client.post(f"/v2/{SESSION}:detectIntent", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}


async def test_unknown_fields_are_refused(client: httpx.AsyncClient) -> None:
    body = {"queryInput": {"txt": {"text": "hi", "languageCode": "en"}}}
    response = await client.post(f"/v2/{SESSION}:detectIntent", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "txt" in response.json()["error"]["message"]


async def test_malformed_json(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/v2/{SESSION}:detectIntent", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Invalid JSON payload received.")


async def test_session_id_longer_than_36_characters(client: httpx.AsyncClient) -> None:
    session = "projects/p/agent/sessions/" + "x" * 37
    response = await client.post(f"/v2/{session}:detectIntent", json=text_body("hi"))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Session ID must not exceed 36 characters."


async def test_audio_input_is_not_emulated(client: httpx.AsyncClient) -> None:
    body = {
        "queryInput": {"audioConfig": {"audioEncoding": "AUDIO_ENCODING_LINEAR_16", "languageCode": "en"}}
    }
    response = await client.post(f"/v2/{SESSION}:detectIntent", json=body)
    assert response.status_code == 501
    assert response.json()["error"]["status"] == "UNIMPLEMENTED"


@pytest.mark.parametrize(
    "path",
    [
        "/v2/projects/p/agent/sessions/s-1:matchIntent",
        "/v2/projects/p/agent:detectIntent",
        "/v2/projects/p/agents/a/sessions/s-1:detectIntent",
        "/v3/x",
    ],
)
async def test_unknown_paths(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(path, json=text_body("hi"))
    assert response.status_code == 404
    assert response.json()["error"]["status"] == "NOT_FOUND"


async def test_wrong_method(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v2/{SESSION}:detectIntent")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == 405


@pytest.fixture
async def support(support_agent: Agent) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(support_agent))
    async with httpx.AsyncClient(transport=transport, base_url="http://df") as http:
        yield http


async def ask(http: httpx.AsyncClient, text: str) -> dict[str, Any]:
    response = await http.post(f"/v2/{SESSION}:detectIntent", json=text_body(text))
    result: dict[str, Any] = response.json()["queryResult"]
    return result


async def test_slot_filling_asks_for_a_required_parameter(support: httpx.AsyncClient) -> None:
    asked = await ask(support, "can I talk to a real person")
    told = await ask(support, "my invoice is wrong")
    assert asked["action"] == told["action"] == "support.live_agent"
    assert "allRequiredParamsPresent" not in asked
    assert asked["fulfillmentText"] == "Can you give me some more details of your issue?"
    assert told["allRequiredParamsPresent"] is True
    assert told["parameters"] == {"details": "my invoice is wrong"}
    assert told["fulfillmentText"].startswith("Thanks for the information!")


async def test_slot_filling_can_be_cancelled(support: httpx.AsyncClient) -> None:
    await ask(support, "connect me with a live agent")
    cancelled = await ask(support, "cancel")
    assert cancelled["cancelsSlotFilling"] is True
    assert "intent" not in cancelled
    assert (await ask(support, "who made you"))["action"] == "support.creators"


async def test_an_intent_without_responses_answers_one_empty_text(support: httpx.AsyncClient) -> None:
    result = await ask(support, "who made you")
    assert result["action"] == "support.creators"
    assert result["fulfillmentMessages"] == [{"text": {"text": [""]}}]
    assert "fulfillmentText" not in result
