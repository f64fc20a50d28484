"""Agent Chat API: what a human agent does, and routing (availability, queue, transfer)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest

from livehandoff.emulators.livechat import AgentConsole, LiveChatEmulator, parse_seed

BOB_ACCOUNT = "b0b0b0b0-0000-4000-8000-000000000001"
BOB_PAT = "dal:bob-pat-0123456789"


@pytest.fixture
async def emu() -> AsyncIterator[LiveChatEmulator]:
    """Anna in every group; Bob in Billing (group 1) too."""
    seed = parse_seed(
        {
            "organizations": [
                {
                    "groups": [{"id": 0, "name": "General"}, {"id": 1, "name": "Billing"}],
                    "agents": [
                        {"id": "anna@example.com", "name": "Anna", "groups": [0]},
                        {
                            "id": "bob@example.com",
                            "name": "Bob",
                            "groups": [0, 1],
                            "account_id": BOB_ACCOUNT,
                            "pat": BOB_PAT,
                        },
                    ],
                    "apps": [{}],
                }
            ]
        }
    )
    emulator = LiveChatEmulator(seed=seed, retry_delays=(0.0, 0.0, 0.0))
    yield emulator
    await emulator.aclose()


@pytest.fixture
def bob(api: httpx.AsyncClient) -> AgentConsole:
    basic = base64.b64encode(f"{BOB_ACCOUNT}:{BOB_PAT}".encode()).decode()
    return AgentConsole(api, f"Basic {basic}")


async def assigned_agent(console: AgentConsole, chat_id: str) -> list[str]:
    chat = await console.get_chat(chat_id)
    return [user["id"] for user in chat["users"] if user["type"] == "agent" and user["present"]]


async def test_least_busy_agent_gets_the_chat(flow, console):
    first = await flow.start_chat(await flow.new_customer())
    second = await flow.start_chat(await flow.new_customer())
    third = await flow.start_chat(await flow.new_customer())
    assert await assigned_agent(console, first["chat_id"]) == ["anna@example.com"]
    assert await assigned_agent(console, second["chat_id"]) == ["bob@example.com"]
    assert await assigned_agent(console, third["chat_id"]) == ["anna@example.com"]


async def test_agent_reply_reaches_only_agent_filtered_webhook(flow, recorder, console, emu):
    await flow.register("incoming_event", recorder.url(), filters={"author_type": "agent"})
    customer = await flow.new_customer()
    chat = await flow.start_chat(customer)
    await flow.customer(
        "send_event", customer, {"chat_id": chat["chat_id"], "event": {"type": "message", "text": "hi"}}
    )
    event_id = await console.reply(chat["chat_id"], "Hello, Anna here")
    await emu.wait_idle()
    (body,) = recorder.of("incoming_event")
    event = body["payload"]["event"]
    assert event["id"] == event_id
    assert event["author_id"] == "anna@example.com"
    assert event["text"] == "Hello, Anna here"
    assert event["visibility"] == "all"


async def test_agent_must_be_in_the_chat_to_send(flow, bob):
    chat = await flow.start_chat(await flow.new_customer())
    response = await bob.request(
        "send_event", {"chat_id": chat["chat_id"], "event": {"type": "message", "text": "hi"}}
    )
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "authorization"


async def test_agent_closes_the_chat(flow, recorder, console, emu):
    await flow.register("chat_deactivated", recorder.url())
    await flow.register("incoming_event", recorder.url())
    chat = await flow.start_chat(await flow.new_customer())
    await console.close(chat["chat_id"])
    await emu.wait_idle()
    (deactivated,) = recorder.of("chat_deactivated")
    assert deactivated["payload"]["user_id"] == "anna@example.com"
    (system,) = recorder.of("incoming_event")
    assert system["payload"]["event"]["system_message_type"] == "manual_archived_agent"
    assert system["payload"]["event"]["text"] == "Anna archived the chat"
    closed = await console.get_chat(chat["chat_id"])
    assert closed["thread"]["active"] is False
    again = await console.request("deactivate_chat", {"id": chat["chat_id"]})
    assert again.json()["error"]["type"] == "chat_inactive"


async def test_groups_offline_when_nobody_accepts(flow, console, bob):
    await console.set_routing_status("not_accepting_chats")
    await bob.set_routing_status("offline")
    customer = await flow.new_customer()
    response = await flow.customer("start_chat", customer, {})
    assert response.status_code == 409
    assert response.json() == {"error": {"type": "groups_offline", "message": "Groups offline"}}
    assert (await console.call("list_chats"))["found_chats"] == 0
    assert (await flow.customer("list_chats", customer)).json()["total_chats"] == 0


async def test_continuous_chat_is_queued_then_assigned(flow, recorder, console, emu):
    await flow.register("user_added_to_chat", recorder.url())
    await console.set_routing_status("not_accepting_chats", agent_id="bob@example.com")
    await console.set_routing_status("not_accepting_chats")
    customer = await flow.new_customer()
    chat = await flow.start_chat(customer, continuous=True)
    queued = await console.get_chat(chat["chat_id"])
    assert queued["thread"]["queue"]["position"] == 1
    assert queued["thread"]["queue"]["wait_time"] > 0
    assert queued["thread"]["user_ids"] == [customer.id]
    await emu.wait_idle()
    assert recorder.of("user_added_to_chat") == []

    await console.set_routing_status("accepting_chats")
    await emu.wait_idle()
    (added,) = recorder.of("user_added_to_chat")
    assert added["payload"]["user"]["id"] == "anna@example.com"
    assigned = await console.get_chat(chat["chat_id"])
    assert "queue" not in assigned["thread"]
    assert assigned["thread"]["events"][-1]["system_message_type"] == "routing.assigned"


async def test_full_agents_queue_chats(flow, console, emu):
    await console.set_routing_status("offline", agent_id="bob@example.com")
    emu.state.agent("anna@example.com").max_chats_count = 1
    await flow.start_chat(await flow.new_customer())
    customer = await flow.new_customer()
    statuses = await flow.customer("list_group_statuses", customer, {"all": True})
    assert statuses.json()["groups_status"]["0"] == "online_for_queue"
    second = await flow.start_chat(customer)
    assert "queue" in (await console.get_chat(second["chat_id"]))["thread"]


async def test_transfer_to_agent(flow, recorder, console, emu):
    for action in ("chat_transferred", "user_added_to_chat", "user_removed_from_chat"):
        await flow.register(action, recorder.url())
    chat = await flow.start_chat(await flow.new_customer())
    await emu.wait_idle()
    recorder.bodies.clear()
    await console.transfer(chat["chat_id"], agent_id="bob@example.com")
    await emu.wait_idle()
    (transferred,) = recorder.of("chat_transferred")
    assert transferred["payload"]["transferred_to"] == {"group_ids": [0], "agent_ids": ["bob@example.com"]}
    assert transferred["payload"]["requester_id"] == "anna@example.com"
    assert transferred["payload"]["reason"] == "manual"
    assert recorder.of("user_removed_from_chat")[0]["payload"]["user_id"] == "anna@example.com"
    assert recorder.of("user_added_to_chat")[0]["payload"]["user"]["id"] == "bob@example.com"
    assert await assigned_agent(console, chat["chat_id"]) == ["bob@example.com"]


async def test_transfer_to_group_needs_an_available_agent(flow, console, bob):
    chat = await flow.start_chat(await flow.new_customer())
    await bob.set_routing_status("not_accepting_chats")
    refused = await console.request(
        "transfer_chat", {"id": chat["chat_id"], "target": {"type": "group", "ids": [1]}}
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["type"] == "groups_offline"
    await bob.set_routing_status("accepting_chats")
    await console.transfer(chat["chat_id"], group_id=1)
    moved = await console.get_chat(chat["chat_id"])
    assert moved["access"] == {"group_ids": [1]}
    assert await assigned_agent(console, chat["chat_id"]) == ["bob@example.com"]


async def test_agent_api_with_oauth_bearer_and_scopes(flow, api):
    token = await flow.agent_token()
    headers = {"Authorization": f"Bearer {token}"}
    chat = await flow.start_chat(await flow.new_customer())
    listed = await api.post("/v3.6/agent/action/list_chats", json={}, headers=headers)
    assert [c["id"] for c in listed.json()["chats_summary"]] == [chat["chat_id"]]
    as_pat_bearer = await api.post(
        "/v3.6/agent/action/list_chats", json={}, headers={"Authorization": f"Bearer {BOB_PAT}"}
    )
    assert as_pat_bearer.status_code == 401


async def test_list_chats_pages_and_filters(flow, console):
    chats = [await flow.start_chat(await flow.new_customer()) for _ in range(3)]
    await console.close(chats[0]["chat_id"])
    first = await console.call("list_chats", {"limit": 2, "sort_order": "asc"})
    assert first["found_chats"] == 3
    assert [c["id"] for c in first["chats_summary"]] == [chats[0]["chat_id"], chats[1]["chat_id"]]
    second = await console.call("list_chats", {"page_id": first["next_page_id"]})
    assert [c["id"] for c in second["chats_summary"]] == [chats[2]["chat_id"]]
    assert "previous_page_id" in second
    active = await console.call("list_chats", {"filters": {"active": True}})
    assert active["found_chats"] == 2
    summary = active["chats_summary"][0]
    assert summary["last_thread_summary"]["active"] is True
    assert "message" in summary["last_event_per_type"]


async def test_routing_status_webhook_and_listing(flow, recorder, console, emu):
    await flow.register("routing_status_set", recorder.url(), filters={"agent_ids": ["anna@example.com"]})
    await console.set_routing_status("not_accepting_chats")
    await console.set_routing_status("offline", agent_id="bob@example.com")
    await emu.wait_idle()
    (body,) = recorder.of("routing_status_set")
    assert body["payload"] == {"agent_id": "anna@example.com", "status": "not accepting chats"}
    statuses = await console.call("list_routing_statuses", {"filters": {"group_ids": [1]}})
    assert statuses == [{"agent_id": "bob@example.com", "status": "offline"}]
    bad = await console.request("set_routing_status", {"status": "away"})
    assert bad.status_code == 400


async def test_requester_presence_rules(flow, console, bob):
    chat = await flow.start_chat(await flow.new_customer())
    refused = await bob.request("deactivate_chat", {"id": chat["chat_id"]})
    assert refused.status_code == 403
    assert refused.json()["error"]["type"] == "authorization"
    await bob.call("deactivate_chat", {"id": chat["chat_id"], "ignore_requester_presence": True})
    inactive = await console.request(
        "transfer_chat", {"id": chat["chat_id"], "target": {"type": "group", "ids": [1]}}
    )
    assert inactive.status_code == 409
    assert inactive.json()["error"]["type"] == "chat_inactive"
