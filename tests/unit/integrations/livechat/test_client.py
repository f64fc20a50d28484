"""The low-level client: request shapes and the one error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from livehandoff.errors import (
    ChatInactive,
    DeskAuthError,
    DeskError,
    DeskRateLimited,
    DeskUnavailable,
    GroupsOffline,
)
from livehandoff.integrations.livechat.client import CustomerCredentials, LiveChatClient, map_failure

from .conftest import (
    ACCOUNTS_URL,
    API_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    LICENSE_ID,
    ORGANIZATION_ID,
    REFRESH_TOKEN,
    FakeLiveChat,
    api_error,
    load,
    oauth_error,
)

CUSTOMER_TOKEN = "dal:customer-token-do-not-leak"
AUTH = CustomerCredentials("bf18d1a8-1afe-4a3e-4cc0-a3148f1143db", CUSTOMER_TOKEN, ORGANIZATION_ID)


@pytest.fixture
async def answering() -> AsyncIterator[Callable[[httpx.Response | Exception], LiveChatClient]]:
    """A client whose every call gets the given response (or raises the given transport error)."""
    clients: list[httpx.AsyncClient] = []

    def make(outcome: httpx.Response | Exception) -> LiveChatClient:
        def handler(request: httpx.Request) -> httpx.Response:
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        clients.append(http)
        return LiveChatClient(http, api_url=API_URL, accounts_url=ACCOUNTS_URL)

    yield make
    for http in clients:
        await http.aclose()


# --- request shapes ----------------------------------------------------------------------------


async def test_refresh_agent_token_posts_the_form_and_reads_the_token(
    client: LiveChatClient, fake: FakeLiveChat
) -> None:
    token = await client.refresh_agent_token(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN
    )

    [call] = fake.calls
    assert (call.method, str(call.url)) == ("POST", f"{ACCOUNTS_URL}/v2/token")
    assert call.form() == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH_TOKEN,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert call.bearer is None
    assert token.access_token == "dal:agent-1"
    assert token.expires_in == 28800
    assert token.organization_id == ORGANIZATION_ID
    assert REFRESH_TOKEN not in repr(token)
    assert "dal:agent-1" not in repr(token)


async def test_customer_token_grant_sends_json_with_the_agent_bearer(
    client: LiveChatClient, fake: FakeLiveChat
) -> None:
    fake.agent_tokens.add("dal:agent")
    known = load("customer_token")["entity_id"]

    created = await client.grant_customer_token(agent_token="dal:agent", client_id=CLIENT_ID)
    again = await client.grant_customer_token(agent_token="dal:agent", client_id=CLIENT_ID, entity_id=known)

    first, second = fake.calls
    assert str(first.url) == f"{ACCOUNTS_URL}/v2/customer/token"
    assert first.bearer == "dal:agent"
    assert first.json() == {"grant_type": "agent_token", "client_id": CLIENT_ID, "response_type": "token"}
    assert second.json() == {
        "grant_type": "agent_token",
        "client_id": CLIENT_ID,
        "response_type": "token",
        "entity_id": known,
    }
    assert created.entity_id != known
    assert again.entity_id == known
    assert again.expires_in == 28800


async def test_organization_id_is_looked_up_by_license(client: LiveChatClient, fake: FakeLiveChat) -> None:
    assert await client.get_organization_id(LICENSE_ID) == ORGANIZATION_ID

    [call] = fake.calls
    assert call.method == "GET"
    assert call.path == "/v3.4/configuration/action/get_organization_id"
    assert call.query == {"license_id": LICENSE_ID}


async def test_customer_actions_carry_organization_and_customer_bearer(
    client: LiveChatClient, fake: FakeLiveChat
) -> None:
    fake.customer_tokens[CUSTOMER_TOKEN] = AUTH.entity_id

    event_id = await client.send_event(
        AUTH, {"chat_id": "PJ0MRSHTDG", "event": {"type": "message", "text": "hi"}}
    )

    [call] = fake.calls
    assert call.path == "/v3.6/customer/action/send_event"
    assert call.query == {"organization_id": ORGANIZATION_ID}
    assert call.bearer == CUSTOMER_TOKEN
    assert call.json() == {"chat_id": "PJ0MRSHTDG", "event": {"type": "message", "text": "hi"}}
    assert event_id.startswith("K600PKZON8_")


async def test_empty_200_is_a_success(client: LiveChatClient, fake: FakeLiveChat) -> None:
    fake.customer_tokens[CUSTOMER_TOKEN] = AUTH.entity_id

    await client.update_customer(AUTH, {"name": "Jane"})

    assert fake.actions == ["update_customer"]


async def test_configuration_actions_carry_the_agent_bearer(
    client: LiveChatClient, fake: FakeLiveChat
) -> None:
    fake.agent_tokens.add("dal:agent")

    hooks = await client.list_webhooks("dal:agent", {"owner_client_id": CLIENT_ID})

    [call] = fake.calls
    assert call.path == "/v3.6/configuration/action/list_webhooks"
    assert call.bearer == "dal:agent"
    assert call.json() == {"owner_client_id": CLIENT_ID}
    assert [hook.action for hook in hooks] == ["incoming_event", "chat_deactivated"]


def test_customer_credentials_hide_the_token() -> None:
    assert CUSTOMER_TOKEN not in repr(AUTH)


# --- error mapping -----------------------------------------------------------------------------

ERROR_ROWS = [
    pytest.param(
        api_error("authentication", 401, "Invalid access token"), DeskAuthError, "authentication", id="auth"
    ),
    pytest.param(api_error("chat_inactive"), ChatInactive, "chat_inactive", id="chat-inactive"),
    pytest.param(api_error("groups_offline"), GroupsOffline, "groups_offline", id="groups-offline"),
    pytest.param(api_error("group_offline"), GroupsOffline, "group_offline", id="group-offline"),
    pytest.param(api_error("group_unavailable"), GroupsOffline, "group_unavailable", id="group-unavailable"),
    pytest.param(api_error("internal", 500), DeskUnavailable, "internal", id="internal"),
    pytest.param(
        api_error("service_unavailable", 503), DeskUnavailable, "service_unavailable", id="unavailable"
    ),
    pytest.param(api_error("request_timeout", 408), DeskUnavailable, "request_timeout", id="request-timeout"),
    pytest.param(api_error("validation", 500), DeskUnavailable, "validation", id="any-type-with-5xx"),
    pytest.param(httpx.Response(502, text="<html>Bad gateway</html>"), DeskUnavailable, "", id="5xx-html"),
    pytest.param(httpx.Response(500, json={}), DeskUnavailable, "", id="5xx-empty-json"),
    pytest.param(api_error("validation"), DeskError, "validation", id="validation"),
    pytest.param(api_error("customer_banned", 403), DeskError, "customer_banned", id="banned"),
    pytest.param(api_error("limit_reached", 400), DeskError, "limit_reached", id="limit"),
    pytest.param(
        httpx.Response(200, json={"error": {"type": "chat_inactive"}}),
        ChatInactive,
        "chat_inactive",
        id="200-err",
    ),
    pytest.param(oauth_error("invalid_grant", 400), DeskAuthError, "invalid_grant", id="oauth-invalid-grant"),
    pytest.param(oauth_error("access_denied", 401), DeskAuthError, "access_denied", id="oauth-denied"),
    pytest.param(oauth_error("server_error", 500), DeskUnavailable, "server_error", id="oauth-server-error"),
    pytest.param(
        oauth_error("temporarily_unavailable", 503),
        DeskUnavailable,
        "temporarily_unavailable",
        id="oauth-503",
    ),
    pytest.param(httpx.Response(401), DeskAuthError, "authentication", id="401-empty"),
    pytest.param(httpx.Response(404, text="Not Found"), DeskError, "", id="404-text"),
    pytest.param(httpx.Response(200, text="<html>captive portal</html>"), DeskError, "", id="200-not-json"),
    pytest.param(httpx.Response(200, json={"chat": "PJ0MRSHTDG"}), DeskError, "", id="200-wrong-shape"),
    pytest.param(httpx.Response(200, json=["PJ0MRSHTDG"]), DeskError, "", id="200-array"),
]


@pytest.mark.parametrize(("response", "expected", "error_type"), ERROR_ROWS)
async def test_failures_map_to_typed_errors(
    answering: Callable[[httpx.Response], LiveChatClient],
    response: httpx.Response,
    expected: type[DeskError],
    error_type: str,
) -> None:
    client = answering(response)

    with pytest.raises(DeskError) as caught:
        await client.start_chat(AUTH, {"chat": {"access": {"group_ids": [0]}}})

    assert type(caught.value) is expected
    assert caught.value.error_type == error_type
    assert caught.value.status == response.status_code
    assert "start_chat" in str(caught.value)
    assert CUSTOMER_TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("response", "retry_after", "error_type"),
    [
        pytest.param(
            httpx.Response(
                429,
                headers={"Retry-After": "7"},
                json={"error": {"type": "too_many_requests", "message": "Slow"}},
            ),
            7.0,
            "too_many_requests",
            id="429-with-seconds",
        ),
        pytest.param(api_error("too_many_requests", 400), None, "too_many_requests", id="type-without-429"),
        pytest.param(httpx.Response(429, text="slow down"), None, "too_many_requests", id="429-text"),
        pytest.param(
            httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
            None,
            "too_many_requests",
            id="429-http-date",
        ),
        pytest.param(
            httpx.Response(429, headers={"Retry-After": "nan"}), None, "too_many_requests", id="429-nan"
        ),
        pytest.param(oauth_error("too_many_requests", 429), None, "too_many_requests", id="oauth-429"),
    ],
)
async def test_rate_limits_carry_retry_after(
    answering: Callable[[httpx.Response], LiveChatClient],
    response: httpx.Response,
    retry_after: float | None,
    error_type: str,
) -> None:
    client = answering(response)

    with pytest.raises(DeskRateLimited) as caught:
        await client.send_event(AUTH, {"chat_id": "PJ0MRSHTDG", "event": {"type": "message", "text": "hi"}})

    assert caught.value.retry_after == retry_after
    assert caught.value.error_type == error_type


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
    ids=lambda error: type(error).__name__,
)
async def test_transport_failures_are_desk_unavailable(
    answering: Callable[[Exception], LiveChatClient], error: httpx.TransportError
) -> None:
    client = answering(error)

    with pytest.raises(DeskUnavailable) as caught:
        await client.refresh_agent_token(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN
        )

    assert caught.value.__cause__ is error
    assert REFRESH_TOKEN not in str(caught.value)
    assert CLIENT_SECRET not in str(caught.value)


async def test_unexpected_shape_keeps_the_validation_error_as_cause(
    answering: Callable[[httpx.Response], LiveChatClient],
) -> None:
    client = answering(httpx.Response(200, json={"access_token": "dal:x"}))

    with pytest.raises(DeskError) as caught:
        await client.refresh_agent_token(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN
        )

    assert caught.value.__cause__ is not None
    assert "dal:x" not in str(caught.value)


def test_long_livechat_messages_are_shortened() -> None:
    error = map_failure("send_event", api_error("validation", 400, "x" * 5000))

    assert len(str(error)) < 300
