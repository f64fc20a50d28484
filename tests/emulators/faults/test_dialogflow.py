"""A slow, failing or hanging bot: the Dialogflow ES and CX emulators with faults, through HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from livehandoff.emulators.dialogflow import Agent, create_app
from livehandoff.emulators.dialogflow.cx import CxAgent, create_cx_app
from livehandoff.emulators.dialogflow.faults import DialogflowFaultConfig
from livehandoff.emulators.faults import CallRule, Latency

from .conftest import CX_SESSION, ES_SESSION, cx_query, es_query, timed


class Bot:
    """One Dialogflow emulator app and a client reaching it."""

    def __init__(
        self, app: Starlette, http: httpx.AsyncClient, path: str, query: Callable[[], dict[str, Any]]
    ):
        self.app = app
        self.http = http
        self.path = path
        self.query = query

    async def detect(self) -> httpx.Response:
        return await self.http.post(self.path, json=self.query())

    @property
    def sessions(self) -> int:
        return len(self.app.state.emulator.sessions)


@pytest.fixture(params=["es", "cx"])
async def bot(request: pytest.FixtureRequest, es_agent: Agent, cx_agent: CxAgent) -> AsyncIterator[Bot]:
    if request.param == "es":
        app, path, query = create_app(es_agent), f"/v2/{ES_SESSION}:detectIntent", es_query
    else:
        app, path, query = create_cx_app(cx_agent), f"/v3/{CX_SESSION}:detectIntent", cx_query
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot.test") as http:
        yield Bot(app, http, path, query)


async def test_an_injected_error_is_googles_error_body_and_touches_no_session(bot: Bot):
    switched = await bot.http.post("/emulator/faults", json={"error_rate": 1, "errors": ["unavailable"]})
    assert switched.status_code == 200
    response = await bot.detect()
    assert response.status_code == 503
    assert response.json() == {
        "error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}
    }
    assert response.headers["x-emulator-fault"] == "error"
    assert bot.sessions == 0
    assert (await bot.http.delete("/emulator/faults")).json()["counts"] == {"error": 1}
    assert (await bot.detect()).status_code == 200
    assert bot.sessions == 1


async def test_default_errors_are_internal_or_unavailable(bot: Bot):
    await bot.http.post("/emulator/faults", json={"seed": 9, "error_rate": 1})
    found = {(await bot.detect()).json()["error"]["status"] for _ in range(20)}
    assert found == {"INTERNAL", "UNAVAILABLE"}


async def test_latency(bot: Bot):
    await bot.http.post("/emulator/faults", json={"latency_ms": {"min": 50, "max": 60}})
    response, took = await timed(bot.detect())
    assert response.status_code == 200
    assert took >= 0.05


async def test_a_hang_is_cancelled_with_its_client_and_a_patient_one_gets_deadline_exceeded(bot: Bot):
    await bot.http.post("/emulator/faults", json={"timeout_rate": 1})
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await bot.detect()
    assert bot.app.state.faults.switch.hanging == 0
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert bot.sessions == 0
    await bot.http.post(
        "/emulator/faults", json={"timeout_rate": 1, "hang_seconds": 0.02, "timeout_after_apply": True}
    )
    response = await bot.detect()
    assert (response.status_code, response.json()["error"]["status"]) == (504, "DEADLINE_EXCEEDED")
    assert bot.sessions == 1


async def test_the_switch_refuses_a_bad_configuration(bot: Bot):
    for body in ({"rate_limit_rate": 0.5}, {"error_rate": 3}, "[", {"errors": ["nope"]}):
        content = body if isinstance(body, str) else None
        response = await bot.http.post("/emulator/faults", json=None if content else body, content=content)
        assert response.status_code == 400, body
        assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert (await bot.http.get("/emulator/faults")).json()["config"] is None


async def test_the_same_seed_gives_the_same_run(es_agent: Agent):
    async def run(seed: int) -> list[int]:
        config = DialogflowFaultConfig(seed=seed, detect_intent=CallRule(error_rate=0.4))
        transport = httpx.ASGITransport(app=create_app(es_agent, faults=config))
        async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as http:
            path = f"/v2/{ES_SESSION}:detectIntent"
            return [(await http.post(path, json=es_query())).status_code for _ in range(30)]

    assert await run(1) == await run(1)
    assert await run(1) != await run(2)


async def test_the_cx_constructor_takes_a_configuration(cx_agent: CxAgent):
    config = DialogflowFaultConfig(detect_intent=CallRule(latency=Latency(1, 1)))
    app = create_cx_app(cx_agent, faults=config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot.test") as http:
        assert (await http.post(f"/v3/{CX_SESSION}:detectIntent", json=cx_query())).status_code == 200
        state = (await http.get("/emulator/faults")).json()
    assert state["config"] == config.to_dict()
    assert state["by_target"] == {"detect_intent": {"latency": 1}}
