"""The CX client through httpx.MockTransport: endpoints, session paths, bodies, auth, error mapping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from google.auth.credentials import Credentials

from livehandoff.errors import BotError, BotUnavailable
from livehandoff.integrations.dialogflow import DialogflowCX, cx_endpoint, cx_session_path
from livehandoff.ports import BotEngine

from .cx_fixtures import cx_response

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, **kwargs: Any) -> DialogflowCX:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    options: dict[str, Any] = {"endpoint": "http://cx.test/", "project_id": "p", "agent_id": "a"}
    return DialogflowCX(http, **{**options, **kwargs})


def recording(response: dict[str, Any]) -> tuple[list[httpx.Request], Handler]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=response)

    return seen, handler


def test_it_is_a_bot_engine() -> None:
    engine: BotEngine = client(lambda request: httpx.Response(200, json={}))
    assert isinstance(engine, DialogflowCX)


async def test_detect_intent_posts_the_official_request_shape() -> None:
    seen, handler = recording(cx_response("handoff"))
    turn = await client(handler).detect_intent(session_id="s-1", text="talk to a person", language="de")
    [request] = seen
    assert request.method == "POST"
    assert (
        str(request.url) == "http://cx.test/v3/projects/p/locations/global/agents/a/sessions/s-1:detectIntent"
    )
    assert json.loads(request.content) == {
        "queryInput": {"text": {"text": "talk to a person"}, "languageCode": "de"}
    }
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers
    assert turn.live_agent_handoff is True
    assert turn.handoff_metadata["group"] == "2"


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({}, "/v3/projects/p/locations/global/agents/a/sessions/s:detectIntent"),
        ({"location": ""}, "/v3/projects/p/locations/global/agents/a/sessions/s:detectIntent"),
        (
            {"location": "europe-west2"},
            "/v3/projects/p/locations/europe-west2/agents/a/sessions/s:detectIntent",
        ),
        (
            {"location": "us-central1", "environment": "prod"},
            "/v3/projects/p/locations/us-central1/agents/a/environments/prod/sessions/s:detectIntent",
        ),
    ],
)
async def test_session_paths(kwargs: dict[str, str], path: str) -> None:
    seen, handler = recording(cx_response("no_match"))
    await client(handler, **kwargs).detect_intent(session_id="s", text="x", language="en")
    assert seen[0].url.path == path


@pytest.mark.parametrize(
    ("location", "configured", "endpoint"),
    [
        ("global", "", "https://dialogflow.googleapis.com"),
        ("", "", "https://dialogflow.googleapis.com"),
        ("europe-west2", "", "https://europe-west2-dialogflow.googleapis.com"),
        (
            "europe-west2",
            "https://dialogflow.googleapis.com/",
            "https://europe-west2-dialogflow.googleapis.com",
        ),
        ("global", "https://dialogflow.googleapis.com", "https://dialogflow.googleapis.com"),
        ("europe-west2", "http://127.0.0.1:8301/", "http://127.0.0.1:8301"),
        ("us-east1", "https://private.example.com", "https://private.example.com"),
    ],
)
def test_endpoints(location: str, configured: str, endpoint: str) -> None:
    assert cx_endpoint(location, configured) == endpoint


async def test_the_regional_host_is_called_without_an_explicit_endpoint() -> None:
    seen, handler = recording(cx_response("no_match"))
    bot = client(handler, endpoint="", location="australia-southeast1")
    assert bot.endpoint == "https://australia-southeast1-dialogflow.googleapis.com"
    await bot.detect_intent(session_id="s", text="x", language="en")
    assert seen[0].url.host == "australia-southeast1-dialogflow.googleapis.com"


def test_session_ids_are_limited_to_36_characters() -> None:
    assert cx_session_path("p", "global", "a", "x" * 36).endswith("/sessions/" + "x" * 36)
    with pytest.raises(ValueError, match="36"):
        cx_session_path("p", "global", "a", "x" * 37)


def test_an_agent_id_is_required() -> None:
    with pytest.raises(ValueError, match="agent id"):
        client(lambda request: httpx.Response(200), agent_id="")


async def test_send_event_passes_its_parameters_as_session_parameters() -> None:
    seen, handler = recording(cx_response("welcome_back"))
    turn = await client(handler).send_event(
        session_id="s",
        name="LIVEHANDOFF_ENDED",
        parameters={"ended_by": "agent", "agent_name": "Anna", "duration_seconds": 42},
        language="en",
    )
    assert json.loads(seen[0].content) == {
        "queryParams": {"parameters": {"ended_by": "agent", "agent_name": "Anna", "duration_seconds": 42.0}},
        "queryInput": {"event": {"event": "LIVEHANDOFF_ENDED"}, "languageCode": "en"},
    }
    assert turn.replies[0].text.startswith("Welcome back!")


async def test_send_event_without_parameters_sends_no_query_params() -> None:
    seen, handler = recording(cx_response("welcome_back"))
    await client(handler).send_event(session_id="s", name="WELCOME", parameters={}, language="en")
    assert json.loads(seen[0].content) == {
        "queryInput": {"event": {"event": "WELCOME"}, "languageCode": "en"}
    }


async def test_send_event_restores_memory_under_the_event_parameters() -> None:
    seen, handler = recording(cx_response("welcome_back"))
    memory = {"parameters": {"order_number": 4711.0, "agent_name": "old"}}
    await client(handler).send_event(
        session_id="s",
        name="LIVEHANDOFF_ENDED",
        parameters={"agent_name": "Anna"},
        language="en",
        memory=memory,
    )
    sent = json.loads(seen[0].content)["queryParams"]["parameters"]
    assert sent == {"order_number": 4711.0, "agent_name": "Anna"}


class CountingCredentials(Credentials):
    """Credentials whose refresh hands out numbered tokens (google-auth's refresh is blocking)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.refreshes = 0

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token = f"token-{self.refreshes}"


async def test_credentials_are_refreshed_once_and_sent_as_bearer() -> None:
    seen, handler = recording(cx_response("no_match"))
    credentials = CountingCredentials()
    bot = client(handler, credentials=credentials)
    await asyncio.gather(*(bot.detect_intent(session_id="s", text="x", language="en") for _ in range(3)))
    assert credentials.refreshes == 1
    assert {request.headers["authorization"] for request in seen} == {"Bearer token-1"}


async def test_unknown_response_fields_are_tolerated() -> None:
    response = cx_response("handoff")
    response["queryResult"]["fieldGoogleAddsLater"] = {"x": 1}
    _, handler = recording(response)
    turn = await client(handler).detect_intent(session_id="s", text="x", language="en")
    assert turn.intent == "human.handoff"


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
                400,
                json={
                    "error": {
                        "code": 400,
                        "message": "Please refer to https://cloud.google.com/dialogflow/cx/docs/concept/"
                        "region to find the correct endpoint.",
                        "status": "INVALID_ARGUMENT",
                    }
                },
            ),
            BotError,
        ),
        (httpx.Response(404, json={"error": {"code": 404, "status": "NOT_FOUND"}}), BotError),
        (httpx.Response(403, text="<html>forbidden</html>"), BotError),
        (httpx.Response(200, text="not json"), BotError),
        (httpx.Response(200, json={"queryResult": {"intentDetectionConfidence": "high"}}), BotError),
    ],
)
async def test_error_mapping(response: httpx.Response, error: type[BotError]) -> None:
    with pytest.raises(error) as caught:
        await client(lambda request: response).detect_intent(session_id="s", text="x", language="en")
    assert type(caught.value) is error
    assert caught.value.status == (None if response.status_code == 200 else response.status_code)


async def test_google_error_messages_are_kept() -> None:
    response = httpx.Response(
        400, json={"error": {"code": 400, "message": "bad page", "status": "INVALID_ARGUMENT"}}
    )
    with pytest.raises(BotError, match="bad page"):
        await client(lambda request: response).detect_intent(session_id="s", text="x", language="en")


async def test_transport_errors_are_bot_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(BotUnavailable, match="ReadTimeout"):
        await client(handler).send_event(session_id="s", name="E", parameters={}, language="en")
