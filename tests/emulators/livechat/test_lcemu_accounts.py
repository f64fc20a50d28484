"""Accounts service: agent OAuth and the agent_token grant for customers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from livehandoff.emulators.livechat import Credentials, LiveChatEmulator, parse_seed

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")


async def refresh_grant(api: httpx.AsyncClient, creds: Credentials, client_secret: str) -> httpx.Response:
    """The seeded app's refresh_token grant, sent with ``client_secret``."""
    return await api.post(
        "/v2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": creds.refresh_token,
            "client_id": creds.client_id,
            "client_secret": client_secret,
        },
    )


@asynccontextmanager
async def flow_on(emu: LiveChatEmulator, flow_class: type[Any]) -> AsyncIterator[Any]:
    """A ``flow`` against an emulator the test built itself, closed once the block is left."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emu.app), base_url="http://lc.test"
    ) as api:
        yield flow_class(emu, api)
    await emu.aclose()


async def test_refresh_grant_issues_a_dal_token(api, emu):
    creds = emu.credentials
    response = await refresh_grant(api, creds, creds.client_secret)
    assert response.status_code == 200
    body = response.json()
    assert body["access_token"].startswith("dal:")
    assert body["expires_in"] == 28800
    assert body["token_type"] == "Bearer"
    assert body["organization_id"] == creds.organization_id
    assert body["account_id"] == creds.agent_account_id
    assert body["refresh_token"] == creds.refresh_token
    assert "customers:own" in body["scope"].split(",")


async def test_refresh_with_wrong_secret_is_invalid_client(api, emu):
    response = await refresh_grant(api, emu.credentials, "nope")
    assert response.status_code == 401
    assert response.json() == {
        "oauth_exception": "invalid_client",
        "exception_description": "unknown client_id or wrong client_secret",
    }


async def test_unknown_refresh_token_and_grant_type(api, emu):
    creds = emu.credentials
    base = {"client_id": creds.client_id, "client_secret": creds.client_secret}
    unknown = await api.post(
        "/v2/token", data={**base, "grant_type": "refresh_token", "refresh_token": "x" * 20}
    )
    assert unknown.status_code == 400
    assert unknown.json()["oauth_exception"] == "invalid_grant"
    password = await api.post("/v2/token", data={**base, "grant_type": "password"})
    assert password.status_code == 400
    assert password.json()["oauth_exception"] == "unsupported_grant_type"


async def test_authorization_code_flow(api, emu):
    creds = emu.credentials
    login = await api.get(
        "/",
        params={
            "response_type": "code",
            "client_id": creds.client_id,
            "redirect_uri": "http://bridge.test/oauth",
            "state": "xyz",
        },
    )
    assert login.status_code == 302
    query = parse_qs(urlsplit(login.headers["location"]).query)
    assert query["state"] == ["xyz"]
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "redirect_uri": "http://bridge.test/oauth",
    }
    first = await api.post("/v2/token", data=form)
    assert first.status_code == 200
    assert first.json()["refresh_token"] == creds.refresh_token
    again = await api.post("/v2/token", data=form)
    assert again.json()["oauth_exception"] == "invalid_grant"


async def test_agent_token_grant_creates_a_customer(flow, emu):
    response = await flow.customer_token_response(await flow.agent_token())
    assert response.status_code == 200
    body = response.json()
    assert UUID.match(body["entity_id"])
    assert body["access_token"].startswith("dal:")
    assert body["expires_in"] == 28800
    assert body["client_id"] == emu.credentials.client_id
    assert body["organization_id"] == emu.credentials.organization_id
    assert body["token_type"] == "Bearer"


async def test_agent_token_grant_with_entity_id_keeps_the_identity(flow):
    agent_token = await flow.agent_token()
    first = (await flow.customer_token_response(agent_token)).json()
    second = (await flow.customer_token_response(agent_token, entity_id=first["entity_id"])).json()
    assert second["entity_id"] == first["entity_id"]
    assert second["access_token"] != first["access_token"]


async def test_agent_token_grant_refuses_bad_tokens(flow, api, emu):
    wrong = await flow.customer_token_response("dal:not-a-token")
    assert wrong.status_code == 401
    assert wrong.json()["oauth_exception"] == "access_denied"
    with_pat = await api.post(
        "/v2/customer/token",
        json={"grant_type": "agent_token", "client_id": emu.credentials.client_id},
        headers={"Authorization": emu.credentials.pat_authorization},
    )
    assert with_pat.status_code == 401
    customer = await flow.new_customer()
    customer_as_agent = await flow.customer_token_response(customer.token)
    assert customer_as_agent.status_code == 401


async def test_agent_token_grant_requires_customers_own(flow_class):
    refresh = {"token": "narrow-token-1", "agent_id": "bob@example.com", "scopes": ["chats--all:rw"]}
    seed = parse_seed(
        {
            "organizations": [
                {
                    "agents": [{"id": "bob@example.com", "name": "Bob"}],
                    "apps": [{"refresh_tokens": [refresh]}],
                }
            ]
        }
    )
    async with flow_on(LiveChatEmulator(seed=seed), flow_class) as flow:
        response = await flow.customer_token_response(await flow.agent_token("narrow-token-1"))
    assert response.status_code == 401
    assert response.json()["oauth_exception"] == "forbidden"


async def test_agent_token_grant_request_errors(flow):
    agent_token = await flow.agent_token()
    no_client = await flow.customer_token_response(agent_token, client_id="")
    assert no_client.status_code == 400
    assert no_client.json()["oauth_exception"] == "invalid_request"
    unknown = await flow.customer_token_response(
        agent_token, entity_id="00000000-0000-4000-8000-000000000000"
    )
    assert unknown.status_code == 400
    assert unknown.json()["oauth_exception"] == "resource_not_found"


async def test_tokens_do_not_cross_families(flow, api):
    agent_token = await flow.agent_token()
    customer = await flow.new_customer()
    as_agent = await api.post(
        "/v3.6/agent/action/list_chats", json={}, headers={"Authorization": f"Bearer {agent_token}"}
    )
    assert as_agent.status_code == 200
    customer_on_agent_api = await api.post(
        "/v3.6/agent/action/list_chats", json={}, headers={"Authorization": f"Bearer {customer.token}"}
    )
    assert customer_on_agent_api.status_code == 401
    assert customer_on_agent_api.json() == {
        "error": {"type": "authentication", "message": "Invalid access token"}
    }
    agent_as_customer = await api.post(
        "/v3.6/customer/action/get_customer",
        params={"organization_id": flow.creds.organization_id},
        json={},
        headers={"Authorization": f"Bearer {agent_token}"},
    )
    assert agent_as_customer.status_code == 401


async def test_only_25_access_tokens_per_app_and_agent(flow, api):
    first = await flow.agent_token()
    for _ in range(25):
        await flow.agent_token()
    response = await api.post(
        "/v3.6/agent/action/list_chats", json={}, headers={"Authorization": f"Bearer {first}"}
    )
    assert response.status_code == 401


async def test_tokens_expire_after_eight_hours(flow_class):
    now = [1_700_000_000.0]
    async with flow_on(LiveChatEmulator(clock=lambda: now[0]), flow_class) as flow:
        headers = {"Authorization": f"Bearer {await flow.agent_token()}"}
        customer = await flow.new_customer()
        now[0] += 28_799
        fresh = await flow.api.post("/v3.6/agent/action/list_chats", json={}, headers=headers)
        fresh_customer = await flow.customer("get_customer", customer)
        now[0] += 2
        stale = await flow.api.post("/v3.6/agent/action/list_chats", json={}, headers=headers)
        stale_customer = await flow.customer("get_customer", customer)
    assert (fresh.status_code, fresh_customer.status_code) == (200, 200)
    assert (stale.status_code, stale_customer.status_code) == (401, 401)
