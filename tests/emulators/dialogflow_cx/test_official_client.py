"""The official ``google-cloud-dialogflow-cx`` client (REST transport) against the emulator on uvicorn."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import dialogflowcx_v3
from starlette.applications import Starlette

from livehandoff.emulators.dialogflow.cx import CxAgent, create_cx_app

Message = dialogflowcx_v3.ResponseMessage


@pytest.fixture(scope="module")
def served_app(demo_agent: CxAgent) -> Starlette:
    """The emulator of the demo agent, which ``endpoint`` serves on uvicorn."""
    return create_cx_app(demo_agent)


@pytest.fixture
def sessions(official_client_kwargs: dict[str, Any]) -> dialogflowcx_v3.SessionsClient:
    return dialogflowcx_v3.SessionsClient(**official_client_kwargs)


def detect(
    client: dialogflowcx_v3.SessionsClient, session: str, query_input: dialogflowcx_v3.QueryInput
) -> dialogflowcx_v3.QueryResult:
    request = dialogflowcx_v3.DetectIntentRequest(session=session, query_input=query_input)
    result: dialogflowcx_v3.QueryResult = client.detect_intent(request=request, timeout=10).query_result
    return result


def text(value: str) -> dialogflowcx_v3.QueryInput:
    return dialogflowcx_v3.QueryInput(text=dialogflowcx_v3.TextInput(text=value), language_code="en")


def kinds(result: dialogflowcx_v3.QueryResult) -> list[str]:
    return [Message.pb(m).WhichOneof("message") for m in result.response_messages]


def test_handoff_through_the_official_client(sessions: dialogflowcx_v3.SessionsClient) -> None:
    session = sessions.session_path("demo-project", "global", "demo-agent", "official-1")
    result = detect(sessions, session, text("I want to talk to an agent"))
    assert result.match.intent.display_name == "human.handoff"
    assert result.match.match_type == dialogflowcx_v3.Match.MatchType.INTENT
    assert kinds(result) == ["text", "live_agent_handoff"]
    assert dict(result.response_messages[1].live_agent_handoff.metadata) == {
        "group": "0",
        "reason": "customer asked",
    }
    assert result.response_messages[0].response_type == Message.ResponseType.HANDLER_PROMPT


def test_event_with_session_parameters_through_the_official_client(
    sessions: dialogflowcx_v3.SessionsClient,
) -> None:
    session = sessions.session_path("demo-project", "europe-west2", "demo-agent", "official-2")
    request = dialogflowcx_v3.DetectIntentRequest(
        session=session,
        query_input=dialogflowcx_v3.QueryInput(
            event=dialogflowcx_v3.EventInput(event="LIVEHANDOFF_ENDED"), language_code="en"
        ),
        query_params=dialogflowcx_v3.QueryParameters(parameters={"agent_name": "Anna"}),
    )
    result = sessions.detect_intent(request=request, timeout=10).query_result
    assert result.trigger_event == "LIVEHANDOFF_ENDED"
    assert result.match.match_type == dialogflowcx_v3.Match.MatchType.EVENT
    assert list(result.response_messages[0].text.text) == [
        "Welcome back! Thanks for chatting with Anna. I'm the bot again — anything else I can help with?"
    ]
    assert result.parameters["agent_name"] == "Anna"


def test_pages_and_the_end_of_the_session_through_the_official_client(
    sessions: dialogflowcx_v3.SessionsClient,
) -> None:
    session = "projects/demo-project/locations/global/agents/demo-agent/environments/prod/sessions/o-3"
    status = detect(sessions, session, text("status of order 4711"))
    assert status.current_page.display_name == "Order Status"
    assert status.parameters["order_number"] == 4711.0
    goodbye = detect(sessions, session, text("goodbye"))
    assert kinds(goodbye) == ["text", "end_interaction"]
    assert goodbye.current_page.display_name == "End Session"


def test_errors_reach_the_official_client_as_google_errors(sessions: dialogflowcx_v3.SessionsClient) -> None:
    session = sessions.session_path("demo-project", "global", "demo-agent", "official-4")
    with pytest.raises(exceptions.BadRequest, match="Input text exceeds 256 characters"):
        detect(sessions, session, text("x" * 300))
