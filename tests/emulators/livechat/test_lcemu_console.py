"""The agent console page and its push channel (``/console/events``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from livehandoff.emulators.livechat import AgentConsole, LiveChatEmulator, console
from livehandoff.emulators.livechat.changes import QUEUE_SIZE, ChangeFeed
from livehandoff.emulators.livechat.model import SYSTEM
from livehandoff.emulators.livechat.notify import Notification
from livehandoff.integrations.livechat.translate import TRANSCRIPT_HEADING, TRANSCRIPT_ID


def frames(body: str) -> list[tuple[str, Any]]:
    """``(event, data)`` of each server-sent event; comments and ``retry`` come as ``(":", line)``."""
    parsed: list[tuple[str, Any]] = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if block.startswith(":"):
            parsed.append((":", block))
        elif "data" in fields:
            parsed.append((fields.get("event", "message"), json.loads(fields["data"])))
        else:
            parsed.append((":", block))
    return parsed


def note(organization_id: str, action: str = "routing_status_set") -> Notification:
    return Notification(action=action, organization_id=organization_id, payload={}, actor=SYSTEM)


async def test_the_page_and_its_files_are_served(api: httpx.AsyncClient) -> None:
    page = await api.get("/console")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script src="/console/static/console.js"' in page.text
    for name, kind in (("console.js", "javascript"), ("console.css", "text/css")):
        asset = await api.get(f"/console/static/{name}")
        assert asset.status_code == 200
        assert kind in asset.headers["content-type"]


async def test_the_page_marks_the_transcript_the_bridge_sends(api: httpx.AsyncClient) -> None:
    script = (await api.get("/console/static/console.js")).text
    assert f'const TRANSCRIPT_HEADING = "{TRANSCRIPT_HEADING}";' in script
    assert f"const TRANSCRIPT_ID = /^{TRANSCRIPT_ID}(?::\\d+)?$/;" in script


@pytest.mark.parametrize(
    "query",
    [{}, {"account_id": "0f2d9c1e-7b3a-4e5d-9c8b-1a2b3c4d5e6f", "pat": "dal:wrong-token"}],
    ids=["no credentials", "wrong PAT"],
)
async def test_the_push_channel_wants_a_pat(api: httpx.AsyncClient, query: dict[str, str]) -> None:
    response = await api.get("/console/events", params=query)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication"


async def test_the_push_channel_logs_in_and_names_each_change(
    emu: LiveChatEmulator, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "STREAM_SECONDS", 0.5)
    monkeypatch.setattr(console, "KEEPALIVE_SECONDS", 0.1)
    creds = emu.credentials
    params = {"account_id": creds.agent_account_id, "pat": creds.agent_pat}
    listening = asyncio.Event()
    listen = emu.changes.listen

    @contextlib.contextmanager
    def signalling_listen(organization_id: str) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        with listen(organization_id) as queue:
            listening.set()
            yield queue

    monkeypatch.setattr(emu.changes, "listen", signalling_listen)
    stream = asyncio.create_task(api.get("/console/events", params=params))
    async with asyncio.timeout(5):
        await listening.wait()
    await AgentConsole(api, creds.pat_authorization).set_routing_status("not_accepting_chats")

    response = await stream
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    received = frames(response.text)
    assert received[0] == (":", "retry: 1000")
    assert received[1] == (
        "login",
        {
            "my_profile": {
                "id": creds.agent_id,
                "name": creds.agent_name,
                "email": creds.agent_id,
                "routing_status": "accepting_chats",
                "organization_id": creds.organization_id,
            }
        },
    )
    assert ("changed", {"action": "routing_status_set"}) in received
    assert (":", ": keep-alive") in received
    assert emu.changes.listening(creds.organization_id) == 0, "the stream ends and stops listening"


async def test_a_chat_change_names_the_chat(emu: LiveChatEmulator, flow: Any) -> None:
    feed = emu.changes
    with feed.listen(emu.credentials.organization_id) as queue:
        started = await flow.start_chat(await flow.new_customer())
        notices = [queue.get_nowait() for _ in range(queue.qsize())]
    assert {"action": "incoming_chat", "chat_id": started["chat_id"]} in notices
    assert {"action": "user_added_to_chat", "chat_id": started["chat_id"]} in notices


def test_notices_go_to_the_organization_only() -> None:
    feed = ChangeFeed()
    with feed.listen("org-a") as mine, feed.listen("org-b") as theirs:
        feed.publish(note("org-a"))
        assert mine.get_nowait() == {"action": "routing_status_set"}
        assert theirs.empty()
    assert feed.listening("org-a") == 0


def test_a_console_far_behind_loses_notices_not_the_emulator() -> None:
    feed = ChangeFeed()
    with feed.listen("org") as queue:
        for _ in range(QUEUE_SIZE + 5):
            feed.publish(note("org"))
        assert queue.qsize() == QUEUE_SIZE
