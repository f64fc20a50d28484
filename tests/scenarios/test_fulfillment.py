"""Fulfillment-webhook mode: Dialogflow's own front end calls the bridge on every turn.

Requests are built with the official types, exactly as Dialogflow would send them, and every response
must parse with the official types without ignoring unknown fields.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.cloud import dialogflowcx_v3
from google.cloud.dialogflow_v2.types import Context, Intent, QueryResult, WebhookRequest, WebhookResponse

from livehandoff.devstack import Stack, run_stack
from tests.scenarios.conftest import Agent, Customer

TOKEN = "fulfillment-secret"
SESSION = "projects/livehandoff-demo/agent/sessions/df-messenger-4711"
CX_SESSION = "projects/p/locations/global/agents/a1/sessions/cx-4711"
AGENT_CONTEXT = f"{SESSION}/contexts/livehandoff-agent"


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with run_stack(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bridge.sqlite3'}",
        dialogflow_webhook_token=TOKEN,
        dialogflow_webhook_username="dialogflow",
        dialogflow_webhook_password="basic-secret",
    ) as running:
        yield running


def es_request(
    text: str, intent: str, *, handoff: bool = False, replies: tuple[str, ...] = (), contexts: int = 0
) -> str:
    result = QueryResult(
        query_text=text,
        language_code="en",
        intent=Intent(display_name=intent, live_agent_handoff=handoff),
        fulfillment_messages=[Intent.Message(text=Intent.Message.Text(text=[r])) for r in replies],
        output_contexts=[Context(name=AGENT_CONTEXT, lifespan_count=contexts)] if contexts else [],
    )
    return str(WebhookRequest.to_json(WebhookRequest(session=SESSION, query_result=result, response_id="r")))


async def post_es(http: httpx.AsyncClient, stack: Stack, body: str, **headers: str) -> WebhookResponse:
    response = await http.post(
        f"{stack.bridge_url}/webhooks/dialogflow",
        content=body,
        headers={"content-type": "application/json", "x-livehandoff-token": TOKEN, **headers},
    )
    assert response.status_code == 200, response.text
    parsed: WebhookResponse = WebhookResponse.from_json(response.text, ignore_unknown_fields=False)
    return parsed


def texts(response: Any) -> list[str]:
    return [line for message in response.fulfillment_messages for line in message.text.text]


def stream_of(response: WebhookResponse) -> Any:
    return next(
        m.payload["livehandoff"]
        for m in response.fulfillment_messages
        if m.payload and "livehandoff" in m.payload
    )


def agent_context(response: WebhookResponse) -> int | None:
    for context in response.output_contexts:
        if context.name == AGENT_CONTEXT:
            return int(context.lifespan_count)
    return None


async def test_es_fulfillment_hands_off_relays_and_returns(
    http: httpx.AsyncClient, stack: Stack, agent: Agent
) -> None:
    greeting = await post_es(http, stack, es_request("hi", "Default Welcome Intent", replies=("Hello!",)))
    assert texts(greeting) == []
    assert agent_context(greeting) is None

    handoff = await post_es(
        http,
        stack,
        es_request("I want a person", "human.handoff", handoff=True, replies=("Let me connect you.",)),
    )
    said = texts(handoff)
    assert said[0] == "Let me connect you.", "the bot's own answer stands"
    assert "Connecting you to an agent…" in said
    assert agent_context(handoff) == 50
    stream = stream_of(handoff)
    assert stream["events_url"].endswith(f"/v1/conversations/{stream['conversation_id']}/events")

    (chat,) = await agent.chats()
    thread = (await agent.chat(chat["id"]))["thread"]["events"]
    transcript = "\n".join(e.get("text", "") for e in thread if e["type"] == "message")
    assert transcript.index("hi") < transcript.index("Hello!") < transcript.index("I want a person")

    await agent.say(chat["id"], "Hi, Anna here.")
    page = Customer(http, stack.bridge_url)
    page.id, page.token = stream["conversation_id"], stream["token"]
    await page.start_reading()
    await page.wait_for(
        lambda e: e.get("text") == "Hi, Anna here.", "the page script's stream sees the agent"
    )
    await page.stop()

    relayed = await post_es(http, stack, es_request("my parcel is late", "livehandoff.agent", contexts=50))
    assert "Hi, Anna here." in texts(relayed)
    assert agent_context(relayed) == 50
    await agent.wait_for_text(chat["id"], "my parcel is late")

    quiet = await post_es(http, stack, es_request("hello?", "livehandoff.agent", contexts=50))
    assert texts(quiet) == [], "nothing is shown twice"
    relayed_marker = [m.payload["livehandoff"] for m in quiet.fulfillment_messages if m.payload]
    assert relayed_marker == [{"relayed": True}], "the matched intent's own answer is suppressed"
    await agent.wait_for_text(chat["id"], "hello?")

    await agent.close(chat["id"])
    await stack.livechat.wait_idle()
    back = await post_es(http, stack, es_request("thanks", "livehandoff.agent", contexts=50))
    assert any("ended the chat" in line for line in texts(back))
    assert agent_context(back) == 0, "the session leaves the agent's catch-all intent"


async def test_delivered_messages_are_not_repeated_by_the_next_turn(
    http: httpx.AsyncClient, stack: Stack, agent: Agent
) -> None:
    handoff = await post_es(http, stack, es_request("agent please", "human.handoff", handoff=True))
    stream = stream_of(handoff)
    (chat,) = await agent.chats()
    await agent.say(chat["id"], "Shown live")
    page = Customer(http, stack.bridge_url)
    page.id, page.token = stream["conversation_id"], stream["token"]
    await page.start_reading()
    shown = await page.wait_for(lambda e: e.get("text") == "Shown live", "live message")
    await page.stop()
    marked = await http.post(
        f"{stack.bridge_url}/v1/conversations/{page.id}/delivered",
        json={"seq": shown["seq"]},
        headers=page.auth,
    )
    assert marked.status_code == 204
    relayed = await post_es(http, stack, es_request("ok", "livehandoff.agent", contexts=50))
    assert "Shown live" not in texts(relayed)


async def test_basic_auth_works_too(http: httpx.AsyncClient, stack: Stack) -> None:
    basic = base64.b64encode(b"dialogflow:basic-secret").decode()
    response = await http.post(
        f"{stack.bridge_url}/webhooks/dialogflow",
        content=es_request("hi", "Default Welcome Intent"),
        headers={"authorization": f"Basic {basic}", "content-type": "application/json"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-livehandoff-token": "wrong"},
        {"authorization": "Basic " + base64.b64encode(b"dialogflow:wrong").decode()},
        {"authorization": "Basic !!!"},
    ],
)
async def test_wrong_credentials_are_refused_and_change_nothing(
    http: httpx.AsyncClient, stack: Stack, agent: Agent, headers: dict[str, str]
) -> None:
    response = await http.post(
        f"{stack.bridge_url}/webhooks/dialogflow",
        content=es_request("agent", "human.handoff", handoff=True),
        headers={"content-type": "application/json", **headers},
    )
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "unauthorized"
    assert await agent.chats() == []


@pytest.mark.parametrize("body", [b"{", b"[]", b'{"queryResult": {"intent": 5}}', b'{"queryResult": {}}'])
async def test_malformed_requests_are_refused(http: httpx.AsyncClient, stack: Stack, body: bytes) -> None:
    response = await http.post(
        f"{stack.bridge_url}/webhooks/dialogflow",
        content=body,
        headers={"content-type": "application/json", "x-livehandoff-token": TOKEN},
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "bad_request"


def cx_request(text: str, *, handoff: bool = False, with_agent: bool = False) -> str:
    messages = [
        dialogflowcx_v3.ResponseMessage(text=dialogflowcx_v3.ResponseMessage.Text(text=["One moment."]))
    ]
    if handoff:
        messages.append(
            dialogflowcx_v3.ResponseMessage(
                live_agent_handoff=dialogflowcx_v3.ResponseMessage.LiveAgentHandoff(metadata={"group": "0"})
            )
        )
    request = dialogflowcx_v3.WebhookRequest(
        text=text,
        language_code="en",
        messages=messages,
        intent_info=dialogflowcx_v3.WebhookRequest.IntentInfo(display_name="talk.to.person"),
        session_info=dialogflowcx_v3.SessionInfo(
            session=CX_SESSION, parameters={"livehandoff_with_agent": True} if with_agent else {}
        ),
    )
    return str(dialogflowcx_v3.WebhookRequest.to_json(request))


async def post_cx(http: httpx.AsyncClient, stack: Stack, body: str) -> dialogflowcx_v3.WebhookResponse:
    response = await http.post(
        f"{stack.bridge_url}/webhooks/dialogflow-cx",
        content=body,
        headers={"content-type": "application/json", "x-livehandoff-token": TOKEN},
    )
    assert response.status_code == 200, response.text
    parsed: dialogflowcx_v3.WebhookResponse = dialogflowcx_v3.WebhookResponse.from_json(
        response.text, ignore_unknown_fields=False
    )
    return parsed


def cx_texts(response: dialogflowcx_v3.WebhookResponse) -> list[str]:
    return [line for m in response.fulfillment_response.messages for line in m.text.text]


async def test_cx_fulfillment_marks_the_session_with_a_parameter(
    http: httpx.AsyncClient, stack: Stack, agent: Agent
) -> None:
    handoff = await post_cx(http, stack, cx_request("I need a human", handoff=True))
    assert handoff.session_info.parameters["livehandoff_with_agent"] is True
    assert "Connecting you to an agent…" in cx_texts(handoff)
    assert handoff.fulfillment_response.merge_behavior.name == "APPEND"
    (chat,) = await agent.chats()
    details = await agent.chat(chat["id"])
    customer = next(user for user in details["users"] if user["type"] == "customer")
    fields = {key: value for field in customer.get("session_fields", []) for key, value in field.items()}
    assert fields["handoff_trigger"] == "live_agent_handoff"
    assert fields["dialogflow_session"] == CX_SESSION

    await agent.say(chat["id"], "Hello from Anna")
    await stack.livechat.wait_idle()  # the webhook carrying it has been answered
    relayed = await post_cx(http, stack, cx_request("thanks", with_agent=True))
    assert "Hello from Anna" in cx_texts(relayed)
    await agent.wait_for_text(chat["id"], "thanks")
    await agent.close(chat["id"])
    await stack.livechat.wait_idle()
    back = await post_cx(http, stack, cx_request("bye", with_agent=True))
    assert "livehandoff_with_agent" not in back.session_info.parameters or (
        back.session_info.parameters["livehandoff_with_agent"] is None
    )
