"""LiveChat's error body and the emulator's status mapping."""

from __future__ import annotations

import pytest


async def test_unknown_method_is_not_found(api, emu):
    response = await api.post(
        "/v3.6/agent/action/create_customer",
        json={},
        headers={"Authorization": emu.credentials.pat_authorization},
    )
    assert response.status_code == 404
    assert response.json() == {"error": {"type": "not_found", "message": "Method not found: create_customer"}}


async def test_malformed_json_is_validation(api, emu):
    response = await api.post(
        "/v3.6/agent/action/list_chats",
        content=b"{not json",
        headers={"Authorization": emu.credentials.pat_authorization, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "validation"


async def test_body_must_be_an_object(api, emu):
    response = await api.post(
        "/v3.6/agent/action/list_chats",
        json=[1, 2],
        headers={"Authorization": emu.credentials.pat_authorization},
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "validation"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer dal:unknown", "Basic bm90LWJhc2U2NA==", "Basic !!!", "Token abc"],
)
async def test_bad_credentials_are_authentication(api, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = await api.post("/v3.6/configuration/action/list_groups", json={}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": {"type": "authentication", "message": "Invalid access token"}}


async def test_pat_sent_as_bearer_is_refused(api, emu):
    response = await api.post(
        "/v3.6/agent/action/list_chats",
        json={},
        headers={"Authorization": f"Bearer {emu.credentials.agent_pat}"},
    )
    assert response.status_code == 401


async def test_other_versions_are_unsupported(api, emu):
    response = await api.post(
        "/v3.5/agent/action/list_chats", json={}, headers={"Authorization": emu.credentials.pat_authorization}
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "unsupported_version"


async def test_wrong_http_method_and_unknown_path(api):
    get = await api.get("/v3.6/agent/action/list_chats")
    assert get.status_code == 404
    assert get.json()["error"]["type"] == "not_found"
    nowhere = await api.get("/nowhere")
    assert nowhere.status_code == 404
    assert nowhere.json()["error"]["type"] == "not_found"


async def test_validation_names_the_field(flow):
    customer = await flow.new_customer()
    response = await flow.customer("send_event", customer, {"chat_id": 7})
    assert response.status_code == 400
    assert "chat_id" in response.json()["error"]["message"]
    no_event = await flow.customer(
        "start_chat", customer, {"chat": {"thread": {"events": [{"type": "form"}]}}}
    )
    assert no_event.status_code == 400
    assert "unsupported event type" in no_event.json()["error"]["message"]


@pytest.mark.parametrize(
    ("event", "message_part"),
    [
        ("hello", "event must be an object"),
        ({"type": "message"}, "event.text"),
        ({"type": "message", "text": ""}, "must not be empty"),
        ({"type": "message", "text": "x", "visibility": "customers"}, "visibility"),
        ({"type": "message", "text": "x", "properties": []}, "event.properties"),
        ({"type": "system_message"}, "event.system_message_type"),
        ({"type": "file"}, "event.url"),
        ({"type": "rich_message", "template_id": "cards", "elements": []}, "event.elements"),
        ({"type": "filled_form", "fields": {}}, "event.fields"),
    ],
)
async def test_event_validation(flow, event, message_part):
    customer = await flow.new_customer()
    chat = await flow.start_chat(customer)
    response = await flow.customer("send_event", customer, {"chat_id": chat["chat_id"], "event": event})
    assert response.status_code == 400
    assert message_part in response.json()["error"]["message"]
