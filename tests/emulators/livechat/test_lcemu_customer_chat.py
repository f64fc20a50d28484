"""Customer Chat API: start, talk, close, resume — and the webhooks the bridge receives."""

from __future__ import annotations

import re

CHAT_ID = re.compile(r"^[A-Z0-9]{10}$")


async def test_start_chat_routes_to_the_online_agent_and_fires_webhooks(flow, recorder, emu):
    await flow.register("incoming_chat", recorder.url())
    await flow.register("user_added_to_chat", recorder.url())
    customer = await flow.new_customer()
    answer = await flow.start_chat(customer, "Hello, I need help")
    await emu.wait_idle()

    assert CHAT_ID.match(answer["chat_id"])
    assert CHAT_ID.match(answer["thread_id"])
    assert answer["event_ids"] == [f"{answer['thread_id']}_1"]
    assert sorted(recorder.actions()) == ["incoming_chat", "user_added_to_chat"]

    added = recorder.of("user_added_to_chat")[0]
    assert set(added) == {
        "webhook_id",
        "secret_key",
        "action",
        "organization_id",
        "payload",
        "additional_data",
    }
    assert added["secret_key"] == "s3cret"
    assert added["organization_id"] == emu.credentials.organization_id
    assert added["additional_data"] == {}
    assert added["payload"]["chat_id"] == answer["chat_id"]
    assert added["payload"]["user"]["id"] == "anna@example.com"
    assert added["payload"]["user"]["name"] == "Anna"
    assert added["payload"]["user"]["type"] == "agent"

    chat = recorder.of("incoming_chat")[0]["payload"]["chat"]
    assert chat["id"] == answer["chat_id"]
    assert chat["properties"]["source"]["client_id"] == emu.credentials.client_id
    assert {user["id"] for user in chat["users"]} == {customer.id, "anna@example.com"}
    first, routed = chat["thread"]["events"]
    assert first["author_id"] == customer.id
    assert first["text"] == "Hello, I need help"
    assert first["visibility"] == "all"
    assert routed["type"] == "system_message"
    assert routed["system_message_type"] == "routing.assigned"
    assert routed["text_vars"] == {"agent": "Anna"}
    assert "author_id" not in routed


async def test_second_start_chat_is_refused(flow):
    customer = await flow.new_customer()
    await flow.start_chat(customer)
    again = await flow.customer("start_chat", customer, {})
    assert again.status_code == 409
    assert again.json()["error"]["type"] == "limit_reached"


async def test_send_event_fires_incoming_event(flow, recorder, emu):
    await flow.register("incoming_event", recorder.url())
    customer = await flow.new_customer()
    chat = await flow.start_chat(customer)
    sent = await flow.customer(
        "send_event", customer, {"chat_id": chat["chat_id"], "event": {"type": "message", "text": "Anyone?"}}
    )
    await emu.wait_idle()
    assert sent.status_code == 200
    event_id = sent.json()["event_id"]
    assert event_id == f"{chat['thread_id']}_3"
    (body,) = recorder.of("incoming_event")
    payload = body["payload"]
    assert payload["chat_id"] == chat["chat_id"]
    assert payload["thread_id"] == chat["thread_id"]
    assert payload["event"]["id"] == event_id
    assert payload["event"]["author_id"] == customer.id
    assert payload["event"]["text"] == "Anyone?"
    assert payload["event"]["visibility"] == "all"
    assert payload["event"]["created_at"].endswith("Z")


async def test_message_over_16_kb_is_a_validation_error(flow):
    customer = await flow.new_customer()
    chat = await flow.start_chat(customer)
    too_long = "é" * 8193
    response = await flow.customer(
        "send_event", customer, {"chat_id": chat["chat_id"], "event": {"type": "message", "text": too_long}}
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "validation"


async def test_customer_closes_the_chat(flow, recorder, emu):
    await flow.register("chat_deactivated", recorder.url())
    await flow.register("incoming_event", recorder.url())
    customer = await flow.new_customer()
    chat = await flow.start_chat(customer)
    closed = await flow.customer("deactivate_chat", customer, {"id": chat["chat_id"]})
    await emu.wait_idle()
    assert closed.status_code == 200
    assert closed.json() == {}
    (deactivated,) = recorder.of("chat_deactivated")
    assert deactivated["payload"] == {
        "chat_id": chat["chat_id"],
        "thread_id": chat["thread_id"],
        "user_id": customer.id,
    }
    (system,) = recorder.of("incoming_event")
    assert system["payload"]["event"]["system_message_type"] == "manual_archived_customer"


async def test_send_to_a_closed_chat_is_chat_inactive_unless_attached(flow):
    customer = await flow.new_customer()
    chat = await flow.start_chat(customer)
    await flow.customer("deactivate_chat", customer, {"id": chat["chat_id"]})
    event = {"type": "message", "text": "still there?"}
    refused = await flow.customer("send_event", customer, {"chat_id": chat["chat_id"], "event": event})
    assert refused.status_code == 409
    assert refused.json()["error"]["type"] == "chat_inactive"
    attached = await flow.customer(
        "send_event", customer, {"chat_id": chat["chat_id"], "event": event, "attach_to_last_thread": True}
    )
    assert attached.status_code == 200
    assert attached.json()["event_id"].startswith(chat["thread_id"] + "_")


async def test_resume_chat_opens_a_new_thread_in_the_same_chat(flow, recorder, emu):
    await flow.register("incoming_chat", recorder.url())
    customer = await flow.new_customer()
    chat = await flow.start_chat(customer)
    await flow.customer("deactivate_chat", customer, {"id": chat["chat_id"]})
    resumed = await flow.customer(
        "resume_chat",
        customer,
        {"chat": {"id": chat["chat_id"], "thread": {"events": [{"type": "message", "text": "Me again"}]}}},
    )
    await emu.wait_idle()
    assert resumed.status_code == 200
    thread_id = resumed.json()["thread_id"]
    assert thread_id != chat["thread_id"]
    assert resumed.json()["event_ids"] == [f"{thread_id}_1"]
    incoming = recorder.of("incoming_chat")
    assert [body["payload"]["chat"]["id"] for body in incoming] == [chat["chat_id"]] * 2
    thread = incoming[1]["payload"]["chat"]["thread"]
    assert thread["id"] == thread_id
    assert thread["previous_thread_id"] == chat["thread_id"]
    assert thread["active"] is True
    agent = next(u for u in incoming[1]["payload"]["chat"]["users"] if u["type"] == "agent")
    assert agent["present"] is True
    again = await flow.customer("resume_chat", customer, {"chat": {"id": chat["chat_id"]}})
    assert again.status_code == 400
    assert again.json()["error"]["type"] == "validation"


async def test_get_chat_and_list_chats_customer_side(flow, console):
    customer = await flow.new_customer()
    chat = await flow.start_chat(customer)
    await console.call(
        "send_event",
        {
            "chat_id": chat["chat_id"],
            "event": {"type": "message", "text": "internal note", "visibility": "agents"},
        },
    )
    got = (await flow.customer("get_chat", customer, {"chat_id": chat["chat_id"]})).json()
    texts = [event.get("text") for event in got["thread"]["events"]]
    assert "internal note" not in texts
    assert all("visibility" not in event for event in got["thread"]["events"])
    anna = next(user for user in got["users"] if user["type"] == "agent")
    assert "email" not in anna
    listed = (await flow.customer("list_chats", customer, {})).json()
    assert listed["total_chats"] == 1
    summary = listed["chats_summary"][0]
    assert summary["id"] == chat["chat_id"]
    assert summary["last_thread_id"] == chat["thread_id"]
    assert summary["active"] is True
    other = await flow.new_customer()
    hidden = await flow.customer("get_chat", other, {"chat_id": chat["chat_id"]})
    assert hidden.status_code == 404


async def test_customer_profile_and_session_fields(flow, recorder, emu):
    await flow.register("customer_session_fields_updated", recorder.url())
    customer = await flow.new_customer()
    updated = await flow.customer("update_customer", customer, {"name": "Jo", "email": "jo@example.com"})
    assert updated.status_code == 200
    chat = await flow.start_chat(customer)
    fields = [{"dialogflow_session": "abc"}, {"reason": "refund"}]
    assert (
        await flow.customer("set_customer_session_fields", customer, {"session_fields": fields})
    ).status_code == 200
    profile = (await flow.customer("get_customer", customer)).json()
    assert profile == {
        "id": customer.id,
        "type": "customer",
        "name": "Jo",
        "email": "jo@example.com",
        "session_fields": fields,
    }
    empty = await flow.customer("update_customer", customer, {})
    assert empty.json()["error"]["type"] == "validation"
    bad = await flow.customer(
        "set_customer_session_fields", customer, {"session_fields": [{"a": "1", "b": "2"}]}
    )
    assert bad.status_code == 400
    await emu.wait_idle()
    (body,) = recorder.of("customer_session_fields_updated")
    assert body["payload"]["active_chat"]["chat_id"] == chat["chat_id"]
    assert body["payload"]["session_fields"] == fields


async def test_list_group_statuses(flow, console):
    customer = await flow.new_customer()
    online = await flow.customer("list_group_statuses", customer, {"all": True})
    assert online.json() == {"groups_status": {"0": "online"}}
    await console.set_routing_status("not_accepting_chats")
    offline = await flow.customer("list_group_statuses", customer, {"group_ids": [0, 7]})
    assert offline.json() == {"groups_status": {"0": "offline"}}
    neither = await flow.customer("list_group_statuses", customer, {})
    assert neither.status_code == 400


async def test_organization_id_query_is_mandatory(flow, api):
    customer = await flow.new_customer()
    missing = await api.post(
        "/v3.6/customer/action/get_customer", json={}, headers={"Authorization": f"Bearer {customer.token}"}
    )
    assert missing.status_code == 400
    assert missing.json()["error"]["type"] == "validation"
    unknown = await api.post(
        "/v3.6/customer/action/get_customer",
        params={"organization_id": "00000000-0000-4000-8000-000000000000"},
        json={},
        headers={"Authorization": f"Bearer {customer.token}"},
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "license_not_found"


async def test_start_chat_to_unknown_group(flow):
    customer = await flow.new_customer()
    response = await flow.customer("start_chat", customer, {"chat": {"access": {"group_ids": [42]}}})
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "group_not_found"


async def test_other_event_types_keep_their_shape(flow, console):
    customer = await flow.new_customer()
    chat = await flow.start_chat(customer)
    events = [
        {"type": "file", "url": "https://cdn.livechat-files.com/api/file/lc/att/1/photo.png"},
        {"type": "custom", "content": {"intent": "refund"}, "custom_id": "c-1"},
        {
            "type": "filled_form",
            "form_id": "f1",
            "fields": [{"type": "name", "id": "n", "label": "Name", "answer": "Jo"}],
        },
    ]
    for event in events:
        sent = await flow.customer("send_event", customer, {"chat_id": chat["chat_id"], "event": event})
        assert sent.status_code == 200, sent.text
    stored = (await console.get_chat(chat["chat_id"]))["thread"]["events"][-3:]
    assert stored[0]["name"] == "photo.png"
    assert stored[0]["content_type"] == "image/png"
    assert stored[1]["content"] == {"intent": "refund"}
    assert stored[1]["custom_id"] == "c-1"
    assert stored[2]["fields"][0]["answer"] == "Jo"
    assert all(event["author_id"] == customer.id for event in stored)
