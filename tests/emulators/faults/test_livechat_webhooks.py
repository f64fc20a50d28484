"""Webhook faults as a receiver sees them: duplicates, drops healed by the retry, delays, reordering."""

from __future__ import annotations

import time
from typing import Any

import httpx

from livehandoff.emulators.livechat import FaultConfig, LiveChatEmulator, WebhookRecorder

from .conftest import BASE_URL, FAST_RETRIES, LiveChat, timed


def attempts(livechat: LiveChat) -> list[tuple[str, int, int | None, str | None]]:
    return [(a.action, a.attempt, a.status, a.fault) for a in livechat.emu.webhooks.attempts]


async def test_a_duplicate_delivers_the_same_envelope_twice(livechat: LiveChat, recorder: WebhookRecorder):
    await livechat.register("incoming_chat", recorder.url())
    token = await livechat.new_customer()
    livechat.configure({"webhooks": {"duplicate_rate": 1}})
    await livechat.chat_id(token)
    await livechat.emu.wait_idle()
    first, second = recorder.bodies
    assert first == second
    assert attempts(livechat) == [("incoming_chat", 1, 200, None), ("incoming_chat", 1, 200, "duplicate")]
    assert livechat.emu.faults.snapshot()["by_target"] == {"webhooks.incoming_chat": {"webhook_duplicate": 1}}


async def test_a_dropped_first_attempt_is_delivered_by_the_retry(
    livechat: LiveChat, recorder: WebhookRecorder
):
    await livechat.register("incoming_chat", recorder.url())
    token = await livechat.new_customer()
    livechat.configure({"webhooks": {"drop_rate": 1}})
    await livechat.chat_id(token)
    await livechat.emu.wait_idle()
    assert recorder.actions() == ["incoming_chat"]
    assert recorder.rejected == []
    assert attempts(livechat) == [("incoming_chat", 1, None, "drop"), ("incoming_chat", 2, 200, None)]


async def test_dropping_more_attempts_than_there_are_retries_loses_the_webhook(
    livechat: LiveChat, recorder: WebhookRecorder
):
    await livechat.register("incoming_chat", recorder.url())
    token = await livechat.new_customer()
    livechat.configure({"webhooks": {"drop_rate": 1, "drop_attempts": 4}})
    await livechat.chat_id(token)
    await livechat.emu.wait_idle()
    assert recorder.bodies == []
    assert [fault for *_, fault in attempts(livechat)] == ["drop"] * 4


async def test_a_delay_holds_the_delivery_not_the_api_answer(livechat: LiveChat, recorder: WebhookRecorder):
    await livechat.register("incoming_chat", recorder.url())
    token = await livechat.new_customer()
    livechat.configure({"webhooks": {"delay_ms": {"min": 100, "max": 100}}})
    started = time.monotonic()
    response, took = await timed(livechat.start_chat(token))
    assert response.status_code == 200
    assert took < 0.1
    assert recorder.bodies == []
    await livechat.emu.wait_idle()
    assert time.monotonic() - started >= 0.1
    assert recorder.actions() == ["incoming_chat"]


async def test_a_held_back_delivery_is_overtaken_by_the_next_one_of_its_chat(
    livechat: LiveChat, recorder: WebhookRecorder
):
    await livechat.register("incoming_chat", recorder.url())
    await livechat.register("incoming_event", recorder.url())
    token = await livechat.new_customer()
    livechat.configure({"webhooks": {"reorder_rate": 1, "reorder_hold_ms": 5000}})
    started = time.monotonic()
    chat_id = await livechat.chat_id(token)
    livechat.configure(None)
    assert (await livechat.send_text(token, chat_id, "second")).status_code == 200
    await livechat.emu.wait_idle()
    assert time.monotonic() - started < 1
    assert recorder.actions() == ["incoming_event", "incoming_chat"]
    assert livechat.emu.faults.snapshot()["counts"] == {"webhook_reorder": 1}


async def test_a_held_back_delivery_goes_after_the_hold_when_nothing_overtakes_it(
    livechat: LiveChat, recorder: WebhookRecorder
):
    await livechat.register("incoming_chat", recorder.url())
    token = await livechat.new_customer()
    livechat.configure({"webhooks": {"reorder_rate": 1, "reorder_hold_ms": 50}})
    started = time.monotonic()
    await livechat.chat_id(token)
    await livechat.emu.wait_idle()
    assert time.monotonic() - started >= 0.05
    assert recorder.actions() == ["incoming_chat"]


async def webhook_run(config: dict[str, Any]) -> tuple[list[tuple[str, int, str | None]], dict[str, Any]]:
    """A chat with five messages on a fresh emulator; what happened to its webhooks."""
    emu = LiveChatEmulator(retry_delays=FAST_RETRIES)
    receiver = WebhookRecorder()
    async with (
        receiver.client() as hooks,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=BASE_URL) as http,
    ):
        emu.set_webhook_client(hooks)
        livechat = LiveChat(emu, http)
        for action in ("incoming_chat", "incoming_event"):
            await livechat.register(action, receiver.url())
        token = await livechat.new_customer()
        emu.faults.configure(FaultConfig.from_dict(config))
        chat_id = await livechat.chat_id(token)
        for number in range(5):
            await livechat.send_text(token, chat_id, f"message {number}")
        await emu.wait_idle()
    await emu.aclose()
    made = sorted(((a.action, a.attempt, a.fault) for a in emu.webhooks.attempts), key=str)
    return made, emu.faults.snapshot()


async def test_the_same_seed_gives_the_same_webhook_faults():
    rates = {"duplicate_rate": 0.5, "reorder_rate": 0.5, "reorder_hold_ms": 30, "drop_rate": 0.5}
    rates["delay_ms"] = {"min": 0, "max": 10}
    first = await webhook_run({"seed": 1, "webhooks": rates})
    again = await webhook_run({"seed": 1, "webhooks": rates})
    other = await webhook_run({"seed": 2, "webhooks": rates})
    assert first == again
    assert first[1]["by_target"] != other[1]["by_target"]
