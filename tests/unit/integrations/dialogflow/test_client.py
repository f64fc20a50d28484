"""The ES client through httpx.MockTransport: paths, bodies, error mapping."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from livehandoff.errors import BotError, BotUnavailable
from livehandoff.integrations.dialogflow import DialogflowES, session_path

RESPONSE = {
    "responseId": "r1",
    "queryResult": {
        "queryText": "hi",
        "fulfillmentMessages": [{"text": {"text": ["Hello!"]}}],
        "intent": {"name": "projects/p/agent/intents/1", "displayName": "Default Welcome Intent"},
        "languageCode": "en",
        "someFieldGoogleAddsLater": True,
    },
}


def client(handler: Callable[[httpx.Request], httpx.Response], **kwargs: str) -> DialogflowES:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return DialogflowES(http, endpoint="http://df.test/", project_id="p", **kwargs)


async def test_detect_intent_posts_the_official_request_shape() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=RESPONSE)

    turn = await client(handler).detect_intent(session_id="s-1", text="hi", language="de")
    assert seen[0].url.path == "/v2/projects/p/agent/sessions/s-1:detectIntent"
    assert json.loads(seen[0].content) == {"queryInput": {"text": {"text": "hi", "languageCode": "de"}}}
    assert "authorization" not in seen[0].headers
    assert turn.intent == "Default Welcome Intent"
    assert [reply.text for reply in turn.replies] == ["Hello!"]


async def test_regional_environment_session_path() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json=RESPONSE)

    await client(handler, location="europe-west2", environment="prod").detect_intent(
        session_id="s", text="x", language="en"
    )
    assert seen == [
        "/v2/projects/p/locations/europe-west2/agent/environments/prod/users/-/sessions/s:detectIntent"
    ]


def test_session_ids_are_limited_to_36_characters() -> None:
    with pytest.raises(ValueError, match="36"):
        session_path("p", "x" * 37)


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (
            httpx.Response(500, json={"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}),
            BotUnavailable,
        ),
        (httpx.Response(503, text="unavailable"), BotUnavailable),
        (httpx.Response(429, json={"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}), BotUnavailable),
        (
            httpx.Response(
                400, json={"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}
            ),
            BotError,
        ),
        (httpx.Response(404, text="nope"), BotError),
        (httpx.Response(200, text="not json"), BotError),
        (httpx.Response(200, json={"queryResult": {"intentDetectionConfidence": "high"}}), BotError),
    ],
)
async def test_error_mapping(response: httpx.Response, error: type[BotError]) -> None:
    with pytest.raises(error) as caught:
        await client(lambda request: response).detect_intent(session_id="s", text="x", language="en")
    assert type(caught.value) is error


async def test_transport_errors_are_bot_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow", request=request)

    with pytest.raises(BotUnavailable):
        await client(handler).detect_intent(session_id="s", text="x", language="en")


async def test_send_event_posts_an_event_input_with_parameters() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=RESPONSE)

    await client(handler).send_event(
        session_id="s",
        name="LIVEHANDOFF_ENDED",
        parameters={"ended_by": "agent", "duration": 42},
        language="en",
    )
    assert json.loads(seen[0].content) == {
        "queryInput": {
            "event": {
                "name": "LIVEHANDOFF_ENDED",
                "parameters": {"ended_by": "agent", "duration": 42.0},
                "languageCode": "en",
            }
        }
    }
