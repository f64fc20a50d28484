"""Token manager: agent token refresh, customer identities, organization id."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from livehandoff.errors import ConfigurationError, DeskAuthError, DeskUnavailable
from livehandoff.integrations.livechat.auth import TokenManager
from livehandoff.integrations.livechat.client import CustomerCredentials, LiveChatClient

from .conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    LICENSE_ID,
    ORGANIZATION_ID,
    REFRESH_TOKEN,
    FakeClock,
    FakeLiveChat,
    load,
)

KNOWN_CUSTOMER = load("customer_token")["entity_id"]


def manager(client: LiveChatClient, clock: FakeClock, **options: Any) -> TokenManager:
    refresh_token = options.pop("refresh_token", REFRESH_TOKEN)
    return TokenManager(
        client,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=refresh_token,
        clock=clock,
        **options,
    )


# --- agent token -------------------------------------------------------------------------------


async def test_agent_token_is_refreshed_once_and_cached(tokens: TokenManager, fake: FakeLiveChat) -> None:
    first = await tokens.agent_token()
    second = await tokens.agent_token()

    assert first == second == "dal:agent-1"
    assert fake.actions == ["/v2/token"]


async def test_concurrent_callers_share_one_refresh(tokens: TokenManager, fake: FakeLiveChat) -> None:
    fake.latency = 0.01

    results = await asyncio.gather(*(tokens.agent_token() for _ in range(25)))

    assert set(results) == {"dal:agent-1"}
    assert len(fake.calls_to("token")) == 1


@pytest.mark.parametrize(
    ("expires_in", "still_fresh_at", "stale_at"),
    [
        pytest.param(28800, 28800 - 301, 28800 - 300, id="8h-token-5-minutes-early"),
        pytest.param(100, 89, 90, id="short-token-10-percent-early"),
    ],
)
async def test_agent_token_is_refreshed_shortly_before_expiry(
    tokens: TokenManager,
    fake: FakeLiveChat,
    clock: FakeClock,
    expires_in: int,
    still_fresh_at: float,
    stale_at: float,
) -> None:
    fake.agent_expires_in = expires_in
    start = clock.now
    await tokens.agent_token()

    clock.now = start + still_fresh_at
    assert await tokens.agent_token() == "dal:agent-1"
    clock.now = start + stale_at
    assert await tokens.agent_token() == "dal:agent-2"
    assert len(fake.calls_to("token")) == 2


async def test_rotated_refresh_token_is_kept_and_handed_over(
    client: LiveChatClient, fake: FakeLiveChat, clock: FakeClock
) -> None:
    saved: list[str] = []

    async def save(token: str) -> None:
        saved.append(token)

    tokens = manager(client, clock, organization_id=ORGANIZATION_ID, on_refresh_token=save)
    fake.rotate_refresh_token = True
    fake.agent_expires_in = 100

    await tokens.agent_token()
    clock.advance(95)
    await tokens.agent_token()

    first, second = fake.calls_to("token")
    assert first.form()["refresh_token"] == REFRESH_TOKEN
    assert second.form()["refresh_token"] == saved[0]
    assert tokens.refresh_token.get_secret_value() == saved[-1] == fake.refresh_token
    assert len(saved) == 2


async def test_a_failing_refresh_token_store_does_not_break_the_refresh(
    client: LiveChatClient, fake: FakeLiveChat, clock: FakeClock
) -> None:
    async def broken(token: str) -> None:
        raise OSError("disk full")

    tokens = manager(client, clock, on_refresh_token=broken)
    fake.rotate_refresh_token = True

    with capture_logs() as logs:
        assert await tokens.agent_token() == "dal:agent-1"

    assert {"event": "livechat.refresh_token_not_saved", "error": "OSError", "log_level": "warning"} in logs


async def test_rejected_agent_token_is_refreshed_and_the_call_repeated(
    tokens: TokenManager, client: LiveChatClient, fake: FakeLiveChat
) -> None:
    await tokens.agent_token()
    fake.revoke_all_tokens()

    hooks = await tokens.as_agent(lambda token: client.list_webhooks(token, {"owner_client_id": CLIENT_ID}))

    assert len(hooks) == 2
    assert fake.actions == ["/v2/token", "list_webhooks", "/v2/token", "list_webhooks"]
    assert fake.calls[-1].bearer == "dal:agent-2"


async def test_agent_retry_happens_once(
    tokens: TokenManager, client: LiveChatClient, fake: FakeLiveChat
) -> None:
    fake.configuration_actions["list_webhooks"] = lambda call: httpx.Response(
        401, json={"error": {"type": "authentication", "message": "Invalid access token"}}
    )

    with pytest.raises(DeskAuthError):
        await tokens.as_agent(lambda token: client.list_webhooks(token, {"owner_client_id": CLIENT_ID}))

    assert fake.actions == ["/v2/token", "list_webhooks", "/v2/token", "list_webhooks"]


async def test_bad_refresh_token_is_an_auth_error_without_retry_loop(
    client: LiveChatClient, fake: FakeLiveChat, clock: FakeClock
) -> None:
    tokens = manager(client, clock, refresh_token="revoked")

    with pytest.raises(DeskAuthError) as caught:
        await tokens.as_agent(lambda token: client.list_webhooks(token, {"owner_client_id": CLIENT_ID}))

    assert caught.value.error_type == "invalid_grant"
    assert fake.actions == ["/v2/token"]
    assert "revoked" not in str(caught.value)


async def test_unreachable_accounts_is_desk_unavailable(
    client: LiveChatClient, fake: FakeLiveChat, clock: FakeClock
) -> None:
    def down(call: object) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    fake.token_route = down

    with pytest.raises(DeskUnavailable):
        await manager(client, clock).agent_token()


async def test_secrets_stay_out_of_logs_and_repr(
    tokens: TokenManager, client: LiveChatClient, fake: FakeLiveChat
) -> None:
    fake.rotate_refresh_token = True
    with capture_logs() as logs:
        await tokens.agent_token()
        fake.revoke_all_tokens()
        await tokens.as_customer(None, lambda auth: client.update_customer(auth, {"name": "Jane"}))

    dumped = repr(logs) + repr(tokens) + repr(tokens.refresh_token)
    for secret in (CLIENT_SECRET, REFRESH_TOKEN, fake.refresh_token, "dal:agent-", "dal:customer-"):
        assert secret not in dumped


# --- organization ------------------------------------------------------------------------------


async def test_configured_organization_needs_no_call(tokens: TokenManager, fake: FakeLiveChat) -> None:
    assert await tokens.organization_id() == ORGANIZATION_ID
    assert fake.calls == []


async def test_organization_is_resolved_once_from_the_license(
    client: LiveChatClient, fake: FakeLiveChat, clock: FakeClock
) -> None:
    tokens = manager(client, clock, license_id=LICENSE_ID)
    fake.latency = 0.01

    results = await asyncio.gather(*(tokens.organization_id() for _ in range(10)))
    again = await tokens.organization_id()

    assert set(results) == {again} == {ORGANIZATION_ID}
    assert fake.actions == ["get_organization_id"]
    assert fake.calls[0].path == "/v3.4/configuration/action/get_organization_id"
    assert fake.calls[0].query == {"license_id": LICENSE_ID}


async def test_organization_falls_back_to_the_agent_token(
    client: LiveChatClient, fake: FakeLiveChat, clock: FakeClock
) -> None:
    tokens = manager(client, clock)

    assert await tokens.organization_id() == ORGANIZATION_ID
    assert fake.actions == ["/v2/token"]


async def test_unknown_organization_is_a_configuration_error(
    client: LiveChatClient, fake: FakeLiveChat, clock: FakeClock
) -> None:
    body = load("agent_token")
    del body["organization_id"]
    fake.token_route = lambda call: httpx.Response(200, json=body)

    with pytest.raises(ConfigurationError):
        await manager(client, clock).organization_id()


# --- customers ---------------------------------------------------------------------------------


async def test_new_customer_gets_a_new_identity_each_time(tokens: TokenManager, fake: FakeLiveChat) -> None:
    first = await tokens.customer(None)
    second = await tokens.customer(None)

    assert first.entity_id != second.entity_id
    assert first.organization_id == ORGANIZATION_ID
    grants = fake.calls_to("token")[1:]
    assert [call.json().get("entity_id") for call in grants] == [None, None]


async def test_customer_token_is_cached_per_entity(tokens: TokenManager, fake: FakeLiveChat) -> None:
    created = await tokens.customer(None)
    again = await tokens.customer(created.entity_id)

    assert again == created
    assert fake.actions == ["/v2/token", "/v2/customer/token"]


async def test_existing_customer_is_granted_with_entity_id(tokens: TokenManager, fake: FakeLiveChat) -> None:
    credentials = await tokens.customer(KNOWN_CUSTOMER)

    assert credentials.entity_id == KNOWN_CUSTOMER
    assert fake.calls[-1].json()["entity_id"] == KNOWN_CUSTOMER
    assert fake.calls[-1].bearer == "dal:agent-1"


async def test_concurrent_requests_for_one_customer_share_one_grant(
    tokens: TokenManager, fake: FakeLiveChat
) -> None:
    fake.latency = 0.01

    results = await asyncio.gather(*(tokens.customer(KNOWN_CUSTOMER) for _ in range(10)))

    assert len({result.access_token for result in results}) == 1
    assert len(fake.calls_to("token")) == 2


async def test_customer_token_is_granted_again_before_expiry(
    tokens: TokenManager, fake: FakeLiveChat, clock: FakeClock
) -> None:
    fake.customer_expires_in = 28800
    fake.agent_expires_in = 10**6
    first = await tokens.customer(KNOWN_CUSTOMER)

    clock.advance(28800 - 301)
    assert await tokens.customer(KNOWN_CUSTOMER) == first
    clock.advance(2)
    renewed = await tokens.customer(KNOWN_CUSTOMER)

    assert renewed.entity_id == KNOWN_CUSTOMER
    assert renewed.access_token != first.access_token


async def test_rejected_customer_token_is_replaced_for_the_same_customer(
    tokens: TokenManager, client: LiveChatClient, fake: FakeLiveChat
) -> None:
    created = await tokens.customer(None)
    fake.customer_tokens.clear()

    await tokens.as_customer(created.entity_id, lambda auth: client.update_customer(auth, {"name": "Jane"}))

    assert fake.actions == [
        "/v2/token",
        "/v2/customer/token",
        "update_customer",
        "/v2/customer/token",
        "update_customer",
    ]
    assert fake.calls[3].json()["entity_id"] == created.entity_id
    assert fake.calls[4].bearer != created.access_token


async def test_customer_retry_happens_once(
    tokens: TokenManager, client: LiveChatClient, fake: FakeLiveChat
) -> None:
    fake.customer_actions["update_customer"] = lambda call, entity: httpx.Response(
        401, json={"error": {"type": "authentication", "message": "Invalid access token"}}
    )

    with pytest.raises(DeskAuthError):
        await tokens.as_customer(KNOWN_CUSTOMER, lambda auth: client.update_customer(auth, {"name": "Jane"}))

    assert fake.actions.count("update_customer") == 2


async def test_customer_grant_refreshes_a_rejected_agent_token(
    tokens: TokenManager, fake: FakeLiveChat
) -> None:
    await tokens.agent_token()
    fake.agent_tokens.clear()

    credentials = await tokens.customer(KNOWN_CUSTOMER)

    assert credentials.entity_id == KNOWN_CUSTOMER
    assert fake.actions == ["/v2/token", "/v2/customer/token", "/v2/token", "/v2/customer/token"]


async def test_unknown_customer_is_an_auth_error(tokens: TokenManager) -> None:
    with pytest.raises(DeskAuthError) as caught:
        await tokens.customer("ffffffff-1afe-4a3e-4cc0-a3148f1143db")

    assert caught.value.error_type == "resource_not_found"


async def test_customer_cache_is_bounded(
    client: LiveChatClient, fake: FakeLiveChat, clock: FakeClock
) -> None:
    tokens = manager(client, clock, organization_id=ORGANIZATION_ID, max_cached_customers=2)
    oldest = await tokens.customer(None)
    await tokens.customer(None)
    await tokens.customer(None)
    grants = len(fake.calls_to("token"))

    await tokens.customer(oldest.entity_id)

    assert len(fake.calls_to("token")) == grants + 1


async def test_discarding_a_stale_token_keeps_the_newer_one(tokens: TokenManager, fake: FakeLiveChat) -> None:
    agent = await tokens.agent_token()
    customer = await tokens.customer(KNOWN_CUSTOMER)

    tokens.discard_agent_token("dal:stale")
    tokens.discard_customer_token(CustomerCredentials(KNOWN_CUSTOMER, "dal:stale", ORGANIZATION_ID))

    assert await tokens.agent_token() == agent
    assert await tokens.customer(KNOWN_CUSTOMER) == customer
    assert len(fake.calls) == 2
