"""Fixtures for the Dialogflow emulator tests: the demo agent, the two real exports, HTTP clients."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from livehandoff.demo import demo_agent_path
from livehandoff.emulators.dialogflow import Agent, create_app, load_agent

AGENTS_VARIABLE = "LIVEHANDOFF_TEST_AGENT_EXPORTS"
#: Real ES exports: the folder ``LIVEHANDOFF_TEST_AGENT_EXPORTS`` names, else the one kept beside the
#: repository (``<repo>/../shared/data/dialogflow-agents``).
AGENTS_DIR = Path(
    os.environ.get(AGENTS_VARIABLE)
    or Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "dialogflow-agents"
)

SESSION = "projects/demo-project/agent/sessions/s-1"


def real_export(name: str) -> Path:
    """The path of a real export, or a skip when the shared test data is not checked out."""
    path = AGENTS_DIR / name
    if not path.is_file():
        where = AGENTS_DIR.resolve()
        pytest.skip(
            f"real Dialogflow export {name} not found at {where}: set {AGENTS_VARIABLE} to its folder"
        )
    return path


@pytest.fixture(scope="session")
def demo_agent() -> Agent:
    return load_agent(demo_agent_path())


@pytest.fixture(scope="session")
def support_agent() -> Agent:
    return load_agent(real_export("Support.zip"))


@pytest.fixture(scope="session")
def small_talk_agent() -> Agent:
    return load_agent(real_export("Small-Talk.zip"))


DetectIntent = Callable[..., Any]


@pytest.fixture
async def client(demo_agent: Agent) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to a fresh emulator of the demo agent, without a server."""
    transport = httpx.ASGITransport(app=create_app(demo_agent))
    async with httpx.AsyncClient(transport=transport, base_url="http://dialogflow.test") as http:
        yield http


@pytest.fixture
def detect(client: httpx.AsyncClient) -> DetectIntent:
    """``await detect(text=..., event=..., session=..., **query_params)`` -> the parsed JSON body."""

    async def run(
        text: str | None = None,
        *,
        event: str | None = None,
        language: str = "en",
        session: str = SESSION,
        parameters: dict[str, Any] | None = None,
        **query_params: Any,
    ) -> dict[str, Any]:
        if event is not None:
            query_input: dict[str, Any] = {"event": {"name": event, "languageCode": language}}
            if parameters:
                query_input["event"]["parameters"] = parameters
        else:
            query_input = {"text": {"text": text, "languageCode": language}}
        body: dict[str, Any] = {"queryInput": query_input}
        if query_params:
            body["queryParams"] = query_params
        response = await client.post(f"/v2/{session}:detectIntent", json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["queryResult"]
        return result

    return run
