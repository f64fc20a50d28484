"""Fixtures for the CX emulator tests: the demo agent, a local booking agent, an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from livehandoff.demo import demo_cx_agent_path
from livehandoff.emulators.dialogflow.cx import CxAgent, create_cx_app, load_cx_agent

AGENTS = Path(__file__).resolve().parent / "agents"
SESSION = "projects/test-project/locations/global/agents/test-agent/sessions/s-1"

DetectIntent = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture(scope="session")
def demo_agent() -> CxAgent:
    return load_cx_agent(demo_cx_agent_path())


@pytest.fixture(scope="session")
def booking_agent() -> CxAgent:
    return load_cx_agent(AGENTS / "booking.json")


class Clock:
    """A clock the tests move by hand (session expiry)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def client_for(agent: CxAgent, clock: Clock) -> httpx.AsyncClient:
    """An HTTP client talking to a fresh emulator of ``agent`` through ``httpx.ASGITransport``."""
    transport = httpx.ASGITransport(app=create_cx_app(agent, clock=clock))
    return httpx.AsyncClient(transport=transport, base_url="http://dialogflow-cx.test")


@pytest.fixture
async def booking(booking_agent: CxAgent, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh emulator of the booking agent, without a server."""
    async with client_for(booking_agent, clock) as http:
        yield http


@pytest.fixture
async def demo(demo_agent: CxAgent, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh emulator of the demo agent, without a server."""
    async with client_for(demo_agent, clock) as http:
        yield http


def query_body(
    text: str | None = None,
    *,
    event: str | None = None,
    language: str = "en",
    parameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``DetectIntentRequest`` body as the official client sends it (camelCase)."""
    query_input: dict[str, Any] = {"languageCode": language}
    if event is not None:
        query_input["event"] = {"event": event}
    else:
        query_input["text"] = {"text": text}
    body: dict[str, Any] = {"queryInput": query_input}
    if parameters is not None:
        body["queryParams"] = {"parameters": parameters}
    return body


def detector(http: httpx.AsyncClient) -> DetectIntent:
    """``await detect(text, event=..., parameters=..., session=...)`` -> the ``queryResult``."""

    async def run(text: str | None = None, *, session: str = SESSION, **kwargs: Any) -> dict[str, Any]:
        response = await http.post(f"/v3/{session}:detectIntent", json=query_body(text, **kwargs))
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["queryResult"]
        return result

    return run


def texts(result: dict[str, Any]) -> list[str]:
    """The text replies of a ``queryResult``, in order."""
    return [line for m in result.get("responseMessages", ()) if "text" in m for line in m["text"]["text"]]
