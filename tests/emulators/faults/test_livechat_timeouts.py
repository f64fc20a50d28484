"""Hanging requests: the client's timeout fires, nothing is left running, and with
``timeout_after_apply`` the change is made all the same — the way duplicates arise."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from livehandoff.emulators.livechat import LiveChatEmulator

from .conftest import LiveChat, eventually, timed

HANG = {"timeout_rate": 1}


def send_event_rule(**rule: Any) -> dict[str, Any]:
    return {"api": {"methods": {"send_event": rule}}}


async def test_the_clients_timeout_fires_and_the_hang_goes_with_it(livechat: LiveChat):
    token = await livechat.new_customer()
    chat_id = await livechat.chat_id(token)
    livechat.configure(send_event_rule(**HANG))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await livechat.send_text(token, chat_id, "anyone there?")
    assert livechat.emu.faults.switch.hanging == 0
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert await livechat.texts(chat_id) == ["I want a human"]
    assert livechat.emu.faults.snapshot()["counts"] == {"timeout": 1}


async def test_a_client_that_waits_out_the_hang_gets_request_timeout(livechat: LiveChat):
    token = await livechat.new_customer()
    chat_id = await livechat.chat_id(token)
    livechat.configure(send_event_rule(**HANG, hang_seconds=0.05))
    response, took = await timed(livechat.send_text(token, chat_id, "anyone there?"))
    assert took >= 0.05
    assert response.status_code == 408
    assert response.json()["error"]["type"] == "request_timeout"
    assert response.headers["x-emulator-fault"] == "timeout"
    assert await livechat.texts(chat_id) == ["I want a human"]


async def test_timeout_after_apply_makes_the_change_so_a_retry_duplicates_it(livechat: LiveChat):
    token = await livechat.new_customer()
    chat_id = await livechat.chat_id(token)
    livechat.configure(send_event_rule(**HANG, hang_seconds=0.05, timeout_after_apply=True))
    assert (await livechat.send_text(token, chat_id, "twice")).status_code == 408
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.02):
            await livechat.send_text(token, chat_id, "twice")
    assert await livechat.texts(chat_id) == ["I want a human", "twice", "twice"]


async def test_timeout_after_apply_loses_an_error_answer_too(livechat: LiveChat):
    token = await livechat.new_customer()
    livechat.configure(send_event_rule(**HANG, hang_seconds=0.01, timeout_after_apply=True))
    response = await livechat.send_text(token, "NOSUCHCHAT", "lost")
    assert response.status_code == 408


@asynccontextmanager
async def served(emu: LiveChatEmulator) -> AsyncIterator[str]:
    """The emulator on a free loopback port, in this event loop."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(emu.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: server.started)
        host, port = sock.getsockname()
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
        await emu.aclose()


async def test_on_a_real_server_the_hang_ends_when_the_client_hangs_up():
    emu = LiveChatEmulator()
    async with served(emu) as url, httpx.AsyncClient(base_url=url, timeout=0.3) as http:
        livechat = LiveChat(emu, http)
        token = await livechat.new_customer()
        chat_id = await livechat.chat_id(token)
        livechat.configure(send_event_rule(**HANG))
        with pytest.raises(httpx.ReadTimeout):
            await livechat.send_text(token, chat_id, "anyone there?")
        await eventually(lambda: emu.faults.switch.hanging == 0, within=2)
        livechat.configure(None)
        assert await livechat.texts(chat_id) == ["I want a human"]
