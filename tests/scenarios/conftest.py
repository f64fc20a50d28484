"""Whole conversations through the public HTTP surfaces of a stack running on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from livehandoff.devstack import Stack, run_stack
from tests.contract.conftest import POSTGRES_SKIP_REASON, POSTGRES_URL_VARIABLE, postgres_database

WAIT_SECONDS = 10.0


FIXTURES = Path(__file__).parent / "fixtures"
StackFactory = Callable[..., AbstractAsyncContextManager[Stack]]


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The bridge's database: a SQLite file in the test's directory, or, for a test parametrized
    indirectly with ``"postgres"``, a new PostgreSQL database dropped afterwards (skipped unless
    ``LIVEHANDOFF_TEST_POSTGRES_URL`` is set)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bridge.sqlite3'}"
        return
    server = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server:
        pytest.skip(POSTGRES_SKIP_REASON)
    async with postgres_database(server) as url:
        yield url


@pytest.fixture
def make_stack(database_url: str) -> StackFactory:
    """Start a stack with settings of the test's own, on the test's database."""

    def start(**settings: Any) -> AbstractAsyncContextManager[Stack]:
        return run_stack(database_url=database_url, **settings)

    return start


@pytest.fixture
async def stack(make_stack: StackFactory) -> AsyncIterator[Stack]:
    async with make_stack() as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=WAIT_SECONDS) as client:
        yield client


class Customer:
    """A customer using the customer API, with a live event stream."""

    def __init__(self, http: httpx.AsyncClient, base: str) -> None:
        self.http = http
        self.base = base
        self.id = ""
        self.token = ""
        self.events: list[dict[str, Any]] = []
        self.event_ids: list[int] = []
        self._reader: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    async def start(self, **body: Any) -> None:
        response = await self.http.post(f"{self.base}/v1/conversations", json=body or None)
        assert response.status_code == 201, response.text
        created = response.json()
        self.id, self.token = created["id"], created["token"]
        await self.start_reading()

    async def start_reading(self, after: int | None = None) -> None:
        """Follow the event stream (``after``: resume with ``Last-Event-ID``)."""
        self._reader = asyncio.create_task(self._read(after=after))

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    async def say(self, text: str) -> str:
        response = await self.http.post(
            f"{self.base}/v1/conversations/{self.id}/messages", json={"text": text}, headers=self.auth
        )
        assert response.status_code == 202, response.text
        message_id: str = response.json()["id"]
        return message_id

    async def _read(self, after: int | None) -> None:
        headers = dict(self.auth)
        if after is not None:
            headers["last-event-id"] = str(after)
        url = f"{self.base}/v1/conversations/{self.id}/events"
        async with self.http.stream("GET", url, headers=headers, timeout=None) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            event_id: int | None = None
            async for line in response.aiter_lines():
                if line.startswith("id: "):
                    event_id = int(line[4:])
                elif line.startswith("data: "):
                    assert event_id is not None
                    self.event_ids.append(event_id)
                    self.events.append(json.loads(line[6:]))
                    self._arrived.set()

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        """The first event (from the start) matching ``predicate``."""
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self._arrived.clear()
                await self._arrived.wait()
        raise AssertionError(what)  # pragma: no cover

    def messages(self, author: str | None = None) -> list[dict[str, Any]]:
        return [
            e for e in self.events if e["type"] == "message" and (author is None or e["author"] == author)
        ]


class Agent:
    """A LiveChat agent using the emulator's Agent Chat API with a personal access token."""

    def __init__(self, http: httpx.AsyncClient, stack: Stack) -> None:
        self.http = http
        self.base = stack.livechat_url
        self.auth = (stack.credentials.agent_account_id, stack.credentials.agent_pat)

    async def call(self, method: str, body: dict[str, Any], *, expect: int = 200) -> Any:
        response = await self.http.post(f"{self.base}/v3.6/agent/action/{method}", json=body, auth=self.auth)
        assert response.status_code == expect, response.text
        return response.json()

    async def chats(self) -> list[dict[str, Any]]:
        listed = await self.call("list_chats", {})
        chats: list[dict[str, Any]] = listed["chats_summary"]
        return chats

    async def chat(self, chat_id: str) -> dict[str, Any]:
        chat: dict[str, Any] = await self.call("get_chat", {"chat_id": chat_id})
        return chat

    async def say(self, chat_id: str, text: str) -> None:
        await self.call(
            "send_event",
            {"chat_id": chat_id, "event": {"type": "message", "text": text, "visibility": "all"}},
        )

    async def close(self, chat_id: str) -> None:
        await self.call("deactivate_chat", {"id": chat_id})

    async def wait_for_text(self, chat_id: str, text: str) -> dict[str, Any]:
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                chat = await self.chat(chat_id)
                for event in chat["thread"]["events"]:
                    if event.get("type") == "message" and event.get("text") == text:
                        found: dict[str, Any] = event
                        return found
                await asyncio.sleep(0.05)


@pytest.fixture
async def customer(http: httpx.AsyncClient, stack: Stack) -> AsyncIterator[Customer]:
    person = Customer(http, stack.bridge_url)
    yield person
    await person.stop()


@pytest.fixture
def agent(http: httpx.AsyncClient, stack: Stack) -> Agent:
    return Agent(http, stack)
