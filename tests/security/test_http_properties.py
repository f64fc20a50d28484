"""Arbitrary bodies against the running stack: the customer API and all three webhooks answer 2xx or
4xx — never 5xx — and a refused request leaves the conversation as it was."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from livehandoff.devstack import Stack
from tests.security import strategies as s
from tests.security.conftest import FULFILLMENT_TOKEN, FUZZ

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def http(threaded_stack: Stack) -> Iterator[httpx.Client]:
    # Without TCP_NODELAY a body sent after its headers waits out the server's delayed ACK (40 ms).
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    with httpx.Client(base_url=threaded_stack.bridge_url, timeout=10, transport=transport) as client:
        yield client


def no_server_error(response: httpx.Response) -> httpx.Response:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["error"]["type"], response.text
    return response


def body_of(document: Any) -> bytes:
    return json.dumps(document).encode()


BODIES = st.one_of(
    s.CONVERSATION_BODIES.map(body_of),
    s.MESSAGE_BODIES.map(body_of),
    st.binary(max_size=100),
)


@FUZZ
@given(BODIES)
@example(b"")
@example(b"null")
@example(b'{"customer": {"name": "\\ud800"}}')
def test_creating_a_conversation(http: httpx.Client, body: bytes) -> None:
    response = no_server_error(http.post("/v1/conversations", content=body, headers=JSON))
    assert response.status_code in (201, 400, 422), response.text


def snapshot(http: httpx.Client, conversation_id: str, token: str) -> dict[str, Any]:
    response = http.get(f"/v1/conversations/{conversation_id}", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


@settings(FUZZ, max_examples=FUZZ.max_examples // 2)  # four requests an example
@given(BODIES, st.sampled_from(["messages", "delivered"]))
@example(b'{"text": "\\u0000"}', "messages")
@example(b'{"seq": true}', "delivered")
@example(b'{"seq": 1e400}', "delivered")
def test_posting_to_a_conversation(http: httpx.Client, body: bytes, path: str) -> None:
    created = http.post("/v1/conversations").json()
    conversation_id, token = created["id"], created["token"]
    before = snapshot(http, conversation_id, token)
    response = no_server_error(
        http.post(
            f"/v1/conversations/{conversation_id}/{path}",
            content=body,
            headers={**JSON, "authorization": f"Bearer {token}"},
        )
    )
    if response.status_code >= 400:
        assert snapshot(http, conversation_id, token) == before


@FUZZ
@given(st.binary(max_size=200) | s.livechat_envelopes("").map(body_of))
def test_livechat_webhook_bodies_with_any_secret(http: httpx.Client, body: bytes) -> None:
    response = no_server_error(http.post("/webhooks/livechat", content=body, headers=JSON))
    assert response.status_code in (400, 401)


@FUZZ
@given(st.data())
def test_livechat_webhook_bodies_with_the_secret(
    http: httpx.Client, threaded_stack: Stack, data: st.DataObject
) -> None:
    secret = threaded_stack.settings.livechat_webhook_secret.get_secret_value()
    document = data.draw(s.livechat_envelopes(secret))
    no_server_error(http.post("/webhooks/livechat", content=body_of(document), headers=JSON))


@FUZZ
@given(s.ES_REQUESTS.map(body_of) | st.binary(max_size=100))
def test_es_fulfillment_bodies(http: httpx.Client, body: bytes) -> None:
    headers = {**JSON, "x-livehandoff-token": FULFILLMENT_TOKEN}
    no_server_error(http.post("/webhooks/dialogflow", content=body, headers=headers))


@FUZZ
@given(s.CX_REQUESTS.map(body_of) | st.binary(max_size=100))
def test_cx_fulfillment_bodies(http: httpx.Client, body: bytes) -> None:
    headers = {**JSON, "x-livehandoff-token": FULFILLMENT_TOKEN}
    no_server_error(http.post("/webhooks/dialogflow-cx", content=body, headers=headers))
