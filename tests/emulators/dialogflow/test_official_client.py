"""The official ``google-cloud-dialogflow`` client (REST transport) against the emulator on uvicorn."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import dialogflow_v2
from starlette.applications import Starlette

from livehandoff.emulators.dialogflow import Agent, create_app


@pytest.fixture(scope="module")
def served_app(demo_agent: Agent) -> Starlette:
    """The emulator of the demo agent, which ``endpoint`` serves on uvicorn."""
    return create_app(demo_agent)


@pytest.fixture
def sessions(official_client_kwargs: dict[str, Any]) -> dialogflow_v2.SessionsClient:
    return dialogflow_v2.SessionsClient(**official_client_kwargs)


def detect(client: dialogflow_v2.SessionsClient, session: str, text: str) -> dialogflow_v2.QueryResult:
    query_input = dialogflow_v2.QueryInput(text=dialogflow_v2.TextInput(text=text, language_code="en"))
    response = client.detect_intent(session=session, query_input=query_input, timeout=10)
    result: dialogflow_v2.QueryResult = response.query_result
    return result


def test_handoff_through_the_official_client(sessions: dialogflow_v2.SessionsClient) -> None:
    session = sessions.session_path("demo-project", "official-1")
    result = detect(sessions, session, "talk to a human")
    assert result.intent.display_name == "human.handoff"
    assert result.intent.live_agent_handoff is True
    assert result.action == "handoff"
    assert [list(m.text.text) for m in result.fulfillment_messages] == [["Let me connect you with a person."]]


def test_parameters_and_output_contexts_through_the_official_client(
    sessions: dialogflow_v2.SessionsClient,
) -> None:
    session = sessions.session_path("demo-project", "official-2")
    result = detect(sessions, session, "where is my order 4711")
    assert result.intent.display_name == "order.status"
    assert dict(result.parameters) == {"order_number": 4711.0}
    [context] = result.output_contexts
    assert context.name == f"{session}/contexts/order-followup"
    assert context.lifespan_count == 2
    assert context.parameters["order_number.original"] == "4711"
    assert result.intent_detection_confidence > 0.3


def test_rich_messages_through_the_official_client(sessions: dialogflow_v2.SessionsClient) -> None:
    session = sessions.session_path("demo-project", "official-3")
    query_input = dialogflow_v2.QueryInput(event=dialogflow_v2.EventInput(name="WELCOME", language_code="en"))
    result = sessions.detect_intent(session=session, query_input=query_input, timeout=10).query_result
    assert result.intent.display_name == "Default Welcome Intent"
    kinds = [dialogflow_v2.Intent.Message.pb(m).WhichOneof("message") for m in result.fulfillment_messages]
    assert kinds == ["text", "quick_replies"]
    assert list(result.fulfillment_messages[1].quick_replies.quick_replies)[-1] == "Talk to a person"


def test_errors_reach_the_official_client_as_google_errors(sessions: dialogflow_v2.SessionsClient) -> None:
    session = sessions.session_path("demo-project", "official-4")
    with pytest.raises(exceptions.BadRequest, match="Input text exceeds 256 characters"):
        detect(sessions, session, "x" * 300)
