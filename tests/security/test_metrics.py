"""``GET /metrics``: off without a token, behind the token otherwise, and the figures of a whole handoff.

The conversation runs in process against the emulators; the outbound calls are counted by
``MeteredTransport``, checked on its own below.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from livehandoff.metrics import MeteredTransport, Metrics, service_hosts
from tests.security.conftest import InProcess, in_process
from tests.security.test_secrets import ACCOUNT_ID, PAT, SEED, until

METRICS_TOKEN = "metrics-bearer-token-for-the-test"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[InProcess]:
    async with in_process(tmp_path, seed=SEED, metrics_token=METRICS_TOKEN) as running:
        yield running


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_are_off_without_a_token(tmp_path: Path) -> None:
    async with in_process(tmp_path) as world, world.client() as http:
        response = await http.get("/metrics")
    assert response.status_code == 404
    assert "LIVEHANDOFF_METRICS_TOKEN" in response.json()["error"]["message"]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {METRICS_TOKEN}", METRICS_TOKEN])
async def test_metrics_need_the_bearer_token(world: InProcess, authorization: str | None) -> None:
    headers = {} if authorization is None else {"authorization": authorization}
    async with world.client() as http:
        response = await http.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "unauthorized"


async def test_a_handoff_and_back_shows_in_the_figures(world: InProcess) -> None:
    auth_metrics = {"authorization": f"Bearer {METRICS_TOKEN}"}
    async with world.client() as bridge, world.livechat() as livechat:
        created = (await bridge.post("/v1/conversations", json={})).json()
        url, auth = f"/v1/conversations/{created['id']}", {"authorization": f"Bearer {created['token']}"}

        async def state() -> str:
            return str((await bridge.get(url, headers=auth)).json()["state"])

        async def agent(method: str, body: dict[str, object]) -> dict[str, object]:
            answer = await livechat.post(f"/v3.6/agent/action/{method}", json=body, auth=(ACCOUNT_ID, PAT))
            assert answer.status_code == 200, answer.text
            result: dict[str, object] = answer.json()
            return result

        await bridge.post(f"{url}/messages", json={"text": "I want to talk to an agent"}, headers=auth)

        async def with_agent() -> bool:
            return await state() == "agent"

        await until(with_agent)
        chats = (await agent("list_chats", {}))["chats_summary"]
        assert isinstance(chats, list)
        chat_id = chats[0]["id"]
        await agent("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "Hi"}})
        await bridge.post(f"{url}/messages", json={"text": "thanks"}, headers=auth)
        await agent("deactivate_chat", {"id": chat_id})

        async def ended() -> bool:
            return await state() == "ended"

        await until(ended)
        await world.app.state.services.bridge.drain()
        await world.emulator.wait_idle()
        response = await bridge.get("/metrics", headers=auth_metrics)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    for step in ("requested", "chat_opened", "agent_joined", "ended"):
        assert found[("livehandoff_handoffs_total", (("step", step),))] == 1.0, step
    assert found[("livehandoff_handoffs_ended_total", (("closed_by", "agent"),))] == 1.0
    assert found[("livehandoff_time_to_agent_seconds_count", ())] == 1.0
    assert found[("livehandoff_relay_seconds_count", (("direction", "customer_message"),))] >= 2.0
    assert found[("livehandoff_relay_seconds_count", (("direction", "agent_message"),))] >= 1.0
    assert found[("livehandoff_webhooks_total", (("outcome", "accepted"),))] >= 3.0
    assert found[("livehandoff_outbox_depth", ())] == 0.0
    assert found[("livehandoff_event_streams_open", ())] == 0.0
    assert created["id"] not in response.text, "no conversation id in any label"


async def test_outbound_calls_are_counted_by_service_method_and_outcome() -> None:
    metrics = Metrics()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("deactivate_chat"):
            return httpx.Response(422, json={"error": {"type": "chat_inactive"}})
        if request.url.host == "down.example":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={})

    hosts = service_hosts({"livechat": "https://api.livechatinc.com", "dialogflow": "https://df.example"})
    transport = MeteredTransport(httpx.MockTransport(answer), metrics, hosts)
    async with httpx.AsyncClient(transport=transport) as http:
        await http.post("https://api.livechatinc.com/v3.6/customer/action/send_event")
        await http.post("https://api.livechatinc.com/v3.6/customer/action/send_event")
        await http.post("https://api.livechatinc.com/v3.6/customer/action/deactivate_chat")
        await http.post("https://df.example/v2/projects/p/agent/sessions/s-123:detectIntent")
        with pytest.raises(httpx.ConnectError):
            await http.get("https://down.example/v1/things/42")

    found = samples(metrics.render().decode())
    calls = "livehandoff_upstream_calls_total"
    assert found[(calls, (("method", "send_event"), ("outcome", "ok"), ("service", "livechat")))] == 2.0
    assert (
        found[(calls, (("method", "deactivate_chat"), ("outcome", "http_4xx"), ("service", "livechat")))] == 1
    )
    assert found[(calls, (("method", "detectIntent"), ("outcome", "ok"), ("service", "dialogflow")))] == 1.0
    assert found[(calls, (("method", "other"), ("outcome", "ConnectError"), ("service", "other")))] == 1.0
    seconds = "livehandoff_upstream_call_seconds_count"
    assert found[(seconds, (("method", "send_event"), ("service", "livechat")))] == 2.0
