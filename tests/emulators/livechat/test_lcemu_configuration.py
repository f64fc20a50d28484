"""Configuration API: webhook registry, license webhook switch, groups, organization id."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("change", "message_part"),
    [
        ({"action": "incoming_typing_indicator"}, "not a webhook action"),
        ({"url": ""}, "url"),
        ({"url": "ftp://bridge.test/hook"}, "url"),
        ({"secret_key": None}, "secret_key"),
        ({"type": "agent"}, "type"),
        ({"owner_client_id": "0" * 32}, "owner_client_id"),
        ({"filters": {"author_type": "bot"}}, "author_type"),
        (
            {"action": "incoming_chat", "filters": {"author_type": "agent"}},
            "not supported for action incoming_chat",
        ),
        ({"filters": {"source_type": ["robots"]}}, "source_type"),
        (
            {"filters": {"chat_presence": {"user_ids": {"values": ["a"], "exclude_values": ["b"]}}}},
            "exactly one",
        ),
        ({"additional_data": ["chat_threads"]}, "additional_data"),
    ],
)
async def test_register_webhook_validates(flow, emu, change, message_part):
    body = {
        "action": "incoming_event",
        "secret_key": "s3cret",
        "url": "http://bridge.test/webhooks/livechat",
        "type": "license",
        "owner_client_id": emu.credentials.client_id,
    }
    body.update(change)
    response = await flow.configuration("register_webhook", {k: v for k, v in body.items() if v is not None})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "validation"
    assert message_part in error["message"]


async def test_three_webhooks_per_action_and_owner(flow):
    for n in range(3):
        await flow.register("incoming_event", f"http://bridge.test/hook/{n}")
    fourth = await flow.configuration(
        "register_webhook",
        {
            "action": "incoming_event",
            "secret_key": "k",
            "url": "http://bridge.test/hook/4",
            "type": "license",
            "owner_client_id": flow.creds.client_id,
        },
    )
    assert fourth.status_code == 409
    assert fourth.json()["error"]["type"] == "limit_reached"
    await flow.register("incoming_chat", "http://bridge.test/hook/other-action")


async def test_list_and_unregister_webhooks(flow):
    webhook_id = await flow.register(
        "incoming_event", "http://bridge.test/hook", filters={"author_type": "agent", "only_my_chats": True}
    )
    listed = (await flow.configuration("list_webhooks", {"owner_client_id": flow.creds.client_id})).json()
    assert listed == [
        {
            "id": webhook_id,
            "url": "http://bridge.test/hook",
            "description": "",
            "action": "incoming_event",
            "secret_key": "s3cret",
            "filters": {"author_type": "agent", "only_my_chats": True},
            "additional_data": [],
            "owner_client_id": flow.creds.client_id,
            "type": "license",
        }
    ]
    body = {"id": webhook_id, "owner_client_id": flow.creds.client_id}
    assert (await flow.configuration("unregister_webhook", body)).json() == {}
    gone = await flow.configuration("unregister_webhook", body)
    assert gone.status_code == 404
    assert gone.json()["error"]["type"] == "not_found"


async def test_owner_client_id_defaults_to_the_oauth_client(flow):
    token = await flow.agent_token()
    response = await flow.configuration("list_webhooks", {}, auth=f"Bearer {token}")
    assert response.status_code == 200
    with_pat = await flow.configuration("list_webhooks", {})
    assert with_pat.status_code == 400


async def test_disabled_license_webhooks_do_not_fire(flow, recorder, emu):
    await flow.register("incoming_chat", recorder.url())
    owner = {"owner_client_id": flow.creds.client_id}
    await flow.configuration("disable_license_webhooks", owner)
    state = (await flow.configuration("get_license_webhooks_state", owner)).json()
    assert state == {"license_webhooks_enabled": False}
    await flow.start_chat(await flow.new_customer())
    await emu.wait_idle()
    assert recorder.bodies == []
    await flow.configuration("enable_license_webhooks", owner)
    await flow.start_chat(await flow.new_customer())
    await emu.wait_idle()
    assert recorder.actions() == ["incoming_chat"]


async def test_list_groups(flow, console):
    plain = (await flow.configuration("list_groups")).json()
    assert plain == [{"id": 0, "name": "General", "language_code": "en"}]
    detailed = (
        await flow.configuration("list_groups", {"fields": ["routing_status", "agent_priorities"]})
    ).json()
    assert detailed[0]["routing_status"] == "accepting_chats"
    assert detailed[0]["agent_priorities"] == {"anna@example.com": "normal"}
    await console.set_routing_status("offline")
    group = (await flow.configuration("get_group", {"id": 0, "fields": ["routing_status"]})).json()
    assert group["routing_status"] == "offline"


async def test_list_groups_needs_the_groups_scope(flow, api, emu):
    token = await flow.agent_token()
    customer = await flow.new_customer()
    response = await flow.configuration("list_groups", auth=f"Bearer {token}")
    assert response.status_code == 200
    refused = await api.post(
        "/v3.6/configuration/action/list_groups",
        json={},
        headers={"Authorization": f"Bearer {customer.token}"},
    )
    assert refused.status_code == 401


async def test_get_organization_id_needs_no_auth(api, emu):
    creds = emu.credentials
    response = await api.get(
        "/v3.4/configuration/action/get_organization_id", params={"license_id": creds.license_id}
    )
    assert response.status_code == 200
    assert response.json() == {"organization_id": creds.organization_id}
    back = await api.get(
        "/v3.4/configuration/action/get_license_id", params={"organization_id": creds.organization_id}
    )
    assert back.json() == {"license_id": creds.license_id}
    unknown = await api.get("/v3.4/configuration/action/get_organization_id", params={"license_id": 1})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "not_found"
    malformed = await api.get("/v3.4/configuration/action/get_organization_id", params={"license_id": "abc"})
    assert malformed.status_code == 400
