"""``/emulator/faults`` of the LiveChat emulator: the agent's PAT opens it, it switches faults on and
off around the phases of a chaos run, and it counts what was injected."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from .conftest import LiveChat

PATH = "/emulator/faults"
FAIL_SEND_EVENT = {"seed": 4, "api": {"methods": {"send_event": {"error_rate": 1, "errors": ["internal"]}}}}


async def switch(
    livechat: LiveChat, method: str, body: Any = None, *, auth: str | None = None
) -> httpx.Response:
    headers = {"Authorization": auth or livechat.creds.pat_authorization}
    return await livechat.http.request(method, PATH, json=body, headers=headers)


def basic(account_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{account_id}:{secret}".encode()).decode()


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_without_the_agents_pat_it_is_refused(livechat: LiveChat, method: str):
    for auth in (
        "",
        basic(livechat.creds.agent_account_id, "wrong"),
        f"Bearer {await livechat.agent_token()}",
    ):
        response = await livechat.http.request(
            method, PATH, json=FAIL_SEND_EVENT, headers={"Authorization": auth}
        )
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication"
    assert livechat.emu.faults.config is None


async def test_faults_switched_on_counted_and_off(livechat: LiveChat):
    token = await livechat.new_customer()
    chat_id = await livechat.chat_id(token)
    response = await switch(livechat, "POST", FAIL_SEND_EVENT)
    assert response.status_code == 200
    assert response.json()["config"]["api"]["methods"]["send_event"]["error_rate"] == 1
    assert (await livechat.send_text(token, chat_id, "one")).status_code == 500
    assert (await livechat.send_text(token, chat_id, "two")).status_code == 500
    assert (await livechat.customer("get_chat", token, {"chat_id": chat_id})).status_code == 200

    state = (await switch(livechat, "GET")).json()
    assert state["counts"] == {"error": 2}
    assert state["by_target"] == {"customer.send_event": {"error": 2}}
    assert state["hanging"] == 0

    cleared = (await switch(livechat, "DELETE")).json()
    assert cleared["config"] is None
    assert cleared["counts"] == {"error": 2}
    assert (await livechat.send_text(token, chat_id, "three")).status_code == 200


async def test_posting_again_replaces_the_configuration(livechat: LiveChat):
    await switch(livechat, "POST", FAIL_SEND_EVENT)
    await switch(livechat, "POST", {"webhooks": {"duplicate_rate": 0.5}})
    config = livechat.emu.faults.config
    assert config is not None
    assert config.api.methods == {}
    assert config.webhooks.duplicate_rate == 0.5


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"api": {"methods": {"send_evnt": {}}}}, "api.methods: unknown methods ['send_evnt']"),
        ({"webhooks": {"drop_rate": 2}}, "webhooks.drop_rate: must be a number from 0 to 1"),
        ([1, 2], "The request body must be a JSON object"),
    ],
)
async def test_a_bad_configuration_is_a_validation_error_and_changes_nothing(
    livechat: LiveChat, body: Any, message: str
):
    await switch(livechat, "POST", FAIL_SEND_EVENT)
    response = await switch(livechat, "POST", body)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "validation"
    assert response.json()["error"]["message"].startswith(message)
    config = livechat.emu.faults.config
    assert config is not None
    assert config.seed == 4
