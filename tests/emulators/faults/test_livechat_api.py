"""Faults of the LiveChat APIs and accounts through HTTP: errors that change nothing, 429 with
``Retry-After``, latency, which APIs fail by default, and the same seed giving the same run."""

from __future__ import annotations

import httpx

from livehandoff.emulators.faults import CallRule, Latency
from livehandoff.emulators.livechat import ApiFaults, FaultConfig, LiveChatEmulator

from .conftest import BASE_URL, LiveChat, timed


async def test_an_injected_error_answers_livechats_body_and_changes_nothing(livechat: LiveChat):
    token = await livechat.new_customer()
    chat_id = await livechat.chat_id(token)
    livechat.configure(
        {"api": {"methods": {"send_event": {"error_rate": 1, "errors": ["service_unavailable"]}}}}
    )
    response = await livechat.send_text(token, chat_id, "lost")
    assert response.status_code == 503
    assert response.json() == {
        "error": {"type": "service_unavailable", "message": "Service temporarily unavailable"}
    }
    assert response.headers["x-emulator-fault"] == "error"
    assert await livechat.texts(chat_id) == ["I want a human"]
    assert (await livechat.customer("get_chat", token, {"chat_id": chat_id})).status_code == 200


async def test_a_failed_start_chat_starts_no_chat(livechat: LiveChat):
    token = await livechat.new_customer()
    livechat.configure({"api": {"default": {"error_rate": 1}}})
    response = await livechat.start_chat(token)
    assert response.status_code in (500, 503)
    assert response.json()["error"]["type"] in ("internal", "service_unavailable")
    listed = await livechat.agent.call("list_chats")
    assert listed["found_chats"] == 0


async def test_errors_come_before_authentication(livechat: LiveChat):
    livechat.configure({"api": {"default": {"error_rate": 1, "errors": ["internal"]}}})
    response = await livechat.customer("get_chat", "not-a-token", {"chat_id": "X"})
    assert (response.status_code, response.json()["error"]["type"]) == (500, "internal")


async def test_rate_limit_answers_429_with_retry_after(livechat: LiveChat):
    token = await livechat.new_customer()
    livechat.configure({"api": {"default": {"rate_limit_rate": 1, "retry_after": 3}}})
    response = await livechat.start_chat(token)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.json()["error"]["type"] == "too_many_requests"
    assert (await livechat.agent.call("list_chats"))["found_chats"] == 0


async def test_latency_is_drawn_between_min_and_max(livechat: LiveChat):
    token = await livechat.new_customer()
    livechat.configure({"api": {"default": {"latency_ms": {"min": 60, "max": 80}}}})
    response, took = await timed(livechat.start_chat(token))
    assert response.status_code == 200
    assert took >= 0.06
    assert livechat.emu.faults.snapshot()["by_target"] == {"customer.start_chat": {"latency": 1}}


async def test_agent_and_configuration_apis_stay_reliable_unless_configured(livechat: LiveChat):
    livechat.configure({"api": {"default": {"error_rate": 1}}, "accounts": {"error_rate": 1}})
    for _ in range(5):
        assert (await livechat.agent.request("list_chats")).status_code == 200
    livechat.configure({"agent_api": {"methods": {"list_chats": {"error_rate": 1, "errors": ["internal"]}}}})
    assert (await livechat.agent.request("list_chats")).status_code == 500
    assert (await livechat.agent.request("list_routing_statuses")).status_code == 200


async def test_accounts_answer_their_own_error_body(livechat: LiveChat):
    livechat.configure({"accounts": {"error_rate": 1, "errors": ["temporarily_unavailable"]}})
    response = await livechat.token_response()
    assert response.status_code == 503
    assert response.json()["oauth_exception"] == "temporarily_unavailable"
    livechat.configure({"accounts": {"rate_limit_rate": 1, "retry_after": 7}})
    response = await livechat.token_response()
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")
    assert response.json()["oauth_exception"] == "too_many_requests"
    livechat.configure(None)
    assert (await livechat.token_response()).status_code == 200


async def statuses(config: FaultConfig, count: int = 40) -> list[int]:
    """Status codes of ``count`` get_chat calls of one customer on a fresh emulator with ``config``."""
    emu = LiveChatEmulator()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=BASE_URL) as http:
        livechat = LiveChat(emu, http)
        token = await livechat.new_customer()
        chat_id = await livechat.chat_id(token)
        emu.faults.configure(config)
        codes = [
            (await livechat.customer("get_chat", token, {"chat_id": chat_id})).status_code
            for _ in range(count)
        ]
    await emu.aclose()
    return codes


async def test_the_same_seed_gives_the_same_run_and_another_seed_another():
    rule = CallRule(error_rate=0.3, rate_limit_rate=0.2, errors=("internal", "service_unavailable"))
    first = await statuses(FaultConfig(seed=11, api=ApiFaults(rule)))
    again = await statuses(FaultConfig(seed=11, api=ApiFaults(rule)))
    other = await statuses(FaultConfig(seed=12, api=ApiFaults(rule)))
    assert first == again
    assert first != other
    assert {200, 429, 500, 503} <= set(first)


async def test_configuring_again_replays_the_sequence(livechat: LiveChat):
    token = await livechat.new_customer()
    chat_id = await livechat.chat_id(token)
    config = FaultConfig(seed=5, api=ApiFaults(CallRule(error_rate=0.5)))
    runs = []
    for _ in range(2):
        livechat.emu.faults.configure(config)
        runs.append(
            [
                (await livechat.customer("get_chat", token, {"chat_id": chat_id})).status_code
                for _ in range(20)
            ]
        )
    assert runs[0] == runs[1]


async def test_the_constructor_takes_a_configuration_and_counts_what_it_injects():
    config = FaultConfig(api=ApiFaults(CallRule(latency=Latency(1, 1))), accounts=CallRule(error_rate=1.0))
    emu = LiveChatEmulator(faults=config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=BASE_URL) as http:
        response = await LiveChat(emu, http).token_response()
    await emu.aclose()
    assert response.status_code in (500, 503)
    assert emu.faults.config == config
    snapshot = emu.faults.snapshot()
    assert snapshot["counts"] == {"error": 1}
    assert snapshot["by_target"] == {"accounts.token": {"error": 1}}
