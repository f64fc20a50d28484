"""Input an attacker (or a careless client) sends, on SQLite and on PostgreSQL: the same answer on both.

NUL characters (U+0000) are refused by the customer API and removed from what LiveChat and Dialogflow send;
an event stream cannot be opened after an event the conversation does not have.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from google.cloud.dialogflow_v2.types import Intent, QueryResult, WebhookRequest

from livehandoff.devstack import Stack
from tests.scenarios.conftest import Agent, Customer, StackFactory

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)

NUL = "\x00"
FULFILLMENT_TOKEN = "fulfillment-token-for-nul"


def assert_error(response: httpx.Response, status: int, error_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == error_type, response.text
    return error


# --- NUL characters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"customer": {"name": f"Jane{NUL}Doe"}}, "body.customer.name"),
        ({"customer": {"email": f"jane{NUL}@example.com"}}, "body.customer.email"),
        ({"page_url": f"https://shop.example/help{NUL}"}, "body.page_url"),
        ({"language": f"en{NUL}"}, "body.language"),
    ],
)
async def test_nul_in_a_new_conversation_is_refused(
    http: httpx.AsyncClient, stack: Stack, body: dict[str, Any], location: str
) -> None:
    response = await http.post(f"{stack.bridge_url}/v1/conversations", json=body)
    error = assert_error(response, 422, "validation")
    assert error["details"] == [
        {"location": location, "problem": "Value error, must not contain the NUL character (U+0000)"}
    ]
    accepted = await http.post(f"{stack.bridge_url}/v1/conversations", json={"customer": {"name": "Jane"}})
    assert accepted.status_code == 201, accepted.text


async def test_nul_in_a_message_is_refused_and_stores_nothing(
    customer: Customer, http: httpx.AsyncClient
) -> None:
    await customer.start()
    url = f"{customer.base}/v1/conversations/{customer.id}"
    response = await http.post(f"{url}/messages", json={"text": f"hello{NUL}"}, headers=customer.auth)
    error = assert_error(response, 422, "validation")
    assert error["details"][0]["location"] == "body.text"
    assert (await http.get(url, headers=customer.auth)).json()["last_seq"] == 0


async def test_nul_in_a_conversation_id_is_not_found(customer: Customer, http: httpx.AsyncClient) -> None:
    await customer.start()
    for path in ("", "/messages", "/events"):
        method = "POST" if path == "/messages" else "GET"
        response = await http.request(
            method,
            f"{customer.base}/v1/conversations/{customer.id}%00{path}",
            headers=customer.auth,
            json={"text": "hi"} if method == "POST" else None,
        )
        assert_error(response, 404, "not_found")


async def test_nul_from_livechat_is_removed_before_the_customer_sees_it(
    customer: Customer, agent: Agent
) -> None:
    await customer.start()
    await customer.say("I want to talk to an agent")
    await customer.wait_for(lambda e: e["type"] == "agent_joined", "agent joined")
    (chat,) = await agent.chats()
    await agent.say(chat["id"], f"Hello{NUL} there")
    await customer.wait_for(lambda e: e.get("text") == "Hello there", "the agent's message without NUL")


async def test_nul_from_dialogflow_fulfillment_is_removed(
    make_stack: StackFactory, http: httpx.AsyncClient
) -> None:
    result = QueryResult(
        query_text=f"I want{NUL} a person",
        language_code="en",
        intent=Intent(display_name=f"human{NUL}.handoff", live_agent_handoff=True),
    )
    session = f"projects/livehandoff-demo/agent/sessions/nul{NUL}4711"
    body = WebhookRequest.to_json(WebhookRequest(session=session, query_result=result, response_id="r"))
    async with make_stack(dialogflow_webhook_token=FULFILLMENT_TOKEN) as stack:
        response = await http.post(
            f"{stack.bridge_url}/webhooks/dialogflow",
            content=body,
            headers={"content-type": "application/json", "x-livehandoff-token": FULFILLMENT_TOKEN},
        )
        assert response.status_code == 200, response.text
        assert NUL not in response.text
        assert "\\u0000" not in response.text


# --- where an event stream starts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({"last-event-id": "2147483648"}, {}),
        ({"last-event-id": str(2**63)}, {}),
        ({"last-event-id": str(2**70)}, {}),
        ({"last-event-id": "9" * 5000}, {}),
        ({}, {"after": "2147483648"}),
        ({}, {"after": str(2**63)}),
    ],
)
async def test_a_resume_point_beyond_any_seq_is_refused_before_the_stream_starts(
    customer: Customer, http: httpx.AsyncClient, headers: dict[str, str], params: dict[str, str]
) -> None:
    await customer.start()
    url = f"{customer.base}/v1/conversations/{customer.id}/events"
    response = await http.get(url, headers={**customer.auth, **headers}, params=params)
    error = assert_error(response, 400, "bad_request")
    assert "ahead of the conversation" in error["message"]


async def test_a_resume_point_ahead_of_the_conversation_is_refused_and_its_last_event_is_not(
    customer: Customer, http: httpx.AsyncClient
) -> None:
    await customer.start()
    await customer.say("hello")
    await customer.wait_for(lambda e: e.get("author") == "bot", "the bot answers")
    state = (await http.get(f"{customer.base}/v1/conversations/{customer.id}", headers=customer.auth)).json()
    last = state["last_seq"]
    url = f"{customer.base}/v1/conversations/{customer.id}/events"

    ahead = await http.get(url, headers={**customer.auth, "last-event-id": str(last + 1)})
    error = assert_error(ahead, 400, "bad_request")
    assert error["message"] == (
        f"Last-Event-ID {last + 1} is ahead of the conversation: its last event is {last}"
    )
    ahead = await http.get(url, headers=customer.auth, params={"after": last + 1})
    assert assert_error(ahead, 400, "bad_request")["message"].startswith(f"after {last + 1} is ahead")

    resumed = Customer(http, customer.base)
    resumed.id, resumed.token = customer.id, customer.token
    await resumed.start_reading(after=last)
    try:
        await customer.say("when are you open")
        event = await resumed.wait_for(lambda e: e.get("author") == "customer", "the next event")
        assert event["seq"] == last + 1
        assert resumed.event_ids[0] == last + 1
    finally:
        await resumed.stop()


async def test_a_last_event_id_of_other_digits_is_a_bad_request(
    customer: Customer, http: httpx.AsyncClient
) -> None:
    """``"²".isdigit()`` is true in Python, but ``int("²")`` fails: only ASCII digits are a seq."""
    await customer.start()
    url = f"{customer.base}/v1/conversations/{customer.id}/events"
    for value in (b"\xb2", b"\xb9\xb2", b"-1", b"1.0", b""):
        response = await http.get(url, headers={**customer.auth, "last-event-id": value})
        assert_error(response, 400, "bad_request")
