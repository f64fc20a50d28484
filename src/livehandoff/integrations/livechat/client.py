"""A thin async client for the parts of LiveChat livehandoff uses.

Why not ``lc-sdk-python``: it is synchronous, hard-codes ``https://`` (no local emulator), returns raw
responses and has no client for the customer token grant (reference §9). This client takes an injected
``httpx.AsyncClient``, knows the URLs and shapes, and turns every failure into one of our errors in a
single function, :func:`map_failure`. It holds no tokens: callers pass them in (see ``auth``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from livehandoff.errors import (
    ChatInactive,
    DeskAuthError,
    DeskError,
    DeskRateLimited,
    DeskUnavailable,
    GroupsOffline,
)
from livehandoff.integrations.livechat import wire

if TYPE_CHECKING:
    from livehandoff.config import Settings

API_VERSION = "v3.6"
ORGANIZATION_LOOKUP_VERSION = "v3.4"
"""``get_organization_id`` is only documented for v3.4 (reference §2.1)."""

T = TypeVar("T")


# Response shapes of the calls only the command line makes (``check --live``, ``livechat authorize``).
# They belong beside the others in ``wire``; they sit here until that module can take them.


class AgentGrant(wire.AgentTokenResponse):
    """``POST /v2/token`` (refresh or authorization code), with whose token it is and its scopes (§1.3)."""

    account_id: str = ""
    scope: str = ""
    """Comma-separated, such as ``chats--all:ro,chats--all:rw``."""


class GroupInfo(wire._Wire):
    """One entry of ``list_groups`` asked for ``routing_status`` (§2.2)."""

    id: int
    name: str = ""
    routing_status: str | None = None


class _LicenseIdResponse(wire._Wire):
    license_id: int = Field(ge=1)


_OFFLINE = frozenset({"groups_offline", "group_offline", "group_unavailable"})
_UNAVAILABLE = frozenset({"internal", "service_unavailable", "request_timeout"})
_OAUTH_UNAVAILABLE = frozenset({"server_error", "temporarily_unavailable"})
_DETAIL_LIMIT = 200

_AGENT_TOKEN = TypeAdapter(AgentGrant)
_CUSTOMER_TOKEN = TypeAdapter(wire.CustomerTokenResponse)
_ORGANIZATION = TypeAdapter(wire.OrganizationIdResponse)
_EMPTY = TypeAdapter(wire.Empty)
_START_CHAT = TypeAdapter(wire.StartChatResponse)
_RESUME_CHAT = TypeAdapter(wire.ResumeChatResponse)
_SEND_EVENT = TypeAdapter(wire.SendEventResponse)
_CHAT = TypeAdapter(wire.Chat)
_LIST_CHATS = TypeAdapter(wire.ListChatsResponse)
_WEBHOOKS = TypeAdapter(list[wire.WebhookInfo], config=ConfigDict(hide_input_in_errors=True))
_REGISTERED = TypeAdapter(wire.RegisterWebhookResponse)
_GROUPS = TypeAdapter(list[GroupInfo])
_LICENSE = TypeAdapter(_LicenseIdResponse)


@dataclass(frozen=True, slots=True)
class CustomerCredentials:
    """What a Customer Chat API call needs: whose token, and for which organization."""

    entity_id: str
    access_token: str = field(repr=False)
    organization_id: str


class LiveChatClient:
    """Low-level LiveChat calls: one method per API method, typed results, typed errors."""

    def __init__(self, http: httpx.AsyncClient, *, api_url: str, accounts_url: str) -> None:
        self._http = http
        self._api_url = api_url.rstrip("/")
        self._accounts_url = accounts_url.rstrip("/")

    @classmethod
    def from_settings(cls, http: httpx.AsyncClient, settings: Settings) -> Self:
        return cls(http, api_url=settings.livechat_api_url, accounts_url=settings.livechat_accounts_url)

    # --- Accounts API ----------------------------------------------------------------------------

    async def refresh_agent_token(
        self, *, client_id: str, client_secret: str, refresh_token: str
    ) -> AgentGrant:
        """Exchange the OAuth refresh token for an agent access token (form-encoded, §1.3)."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        request = self._http.build_request("POST", f"{self._accounts_url}/v2/token", data=form)
        return await self._call("refresh_agent_token", request, _AGENT_TOKEN)

    async def redeem_code(
        self, *, client_id: str, client_secret: str, code: str, redirect_uri: str, code_verifier: str = ""
    ) -> AgentGrant:
        """The authorization code grant: the code the login page sent to ``redirect_uri`` for the agent's
        refresh token (form-encoded, §1.3); ``code_verifier`` when the authorization asked with PKCE."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": redirect_uri,
        }
        if code_verifier:
            form["code_verifier"] = code_verifier
        request = self._http.build_request("POST", f"{self._accounts_url}/v2/token", data=form)
        return await self._call("redeem_code", request, _AGENT_TOKEN)

    def authorize_url(self, query: dict[str, str]) -> str:
        """The accounts login page where an agent grants the app access (§1.3)."""
        return str(httpx.URL(f"{self._accounts_url}/", params=query))

    async def grant_customer_token(
        self, *, agent_token: str, client_id: str, entity_id: str | None = None
    ) -> wire.CustomerTokenResponse:
        """The ``agent_token`` grant: a new customer without ``entity_id``, that customer with it (§1.1)."""
        body: dict[str, str] = {"grant_type": "agent_token", "client_id": client_id, "response_type": "token"}
        if entity_id is not None:
            body["entity_id"] = entity_id
        request = self._http.build_request(
            "POST", f"{self._accounts_url}/v2/customer/token", json=body, headers=_bearer(agent_token)
        )
        return await self._call("grant_customer_token", request, _CUSTOMER_TOKEN)

    async def get_organization_id(self, license_id: str) -> str:
        url = f"{self._api_url}/{ORGANIZATION_LOOKUP_VERSION}/configuration/action/get_organization_id"
        request = self._http.build_request("GET", url, params={"license_id": license_id})
        return (await self._call("get_organization_id", request, _ORGANIZATION)).organization_id

    async def get_license_id(self, organization_id: str) -> int:
        url = f"{self._api_url}/{ORGANIZATION_LOOKUP_VERSION}/configuration/action/get_license_id"
        request = self._http.build_request("GET", url, params={"organization_id": organization_id})
        return (await self._call("get_license_id", request, _LICENSE)).license_id

    # --- Customer Chat API -----------------------------------------------------------------------

    async def update_customer(self, auth: CustomerCredentials, body: wire.UpdateCustomerRequest) -> None:
        await self._customer("update_customer", auth, body, _EMPTY)

    async def start_chat(
        self, auth: CustomerCredentials, body: wire.StartChatRequest
    ) -> wire.StartChatResponse:
        return await self._customer("start_chat", auth, body, _START_CHAT)

    async def resume_chat(
        self, auth: CustomerCredentials, body: wire.ResumeChatRequest
    ) -> wire.ResumeChatResponse:
        return await self._customer("resume_chat", auth, body, _RESUME_CHAT)

    async def deactivate_chat(self, auth: CustomerCredentials, body: wire.DeactivateChatRequest) -> None:
        await self._customer("deactivate_chat", auth, body, _EMPTY)

    async def send_event(self, auth: CustomerCredentials, body: wire.SendEventRequest) -> str:
        return (await self._customer("send_event", auth, body, _SEND_EVENT)).event_id

    async def get_chat(self, auth: CustomerCredentials, body: wire.GetChatRequest) -> wire.Chat:
        return await self._customer("get_chat", auth, body, _CHAT)

    async def list_chats(
        self, auth: CustomerCredentials, body: wire.ListChatsRequest
    ) -> wire.ListChatsResponse:
        return await self._customer("list_chats", auth, body, _LIST_CHATS)

    # --- Configuration API -----------------------------------------------------------------------

    async def list_webhooks(self, agent_token: str, body: wire.ListWebhooksRequest) -> list[wire.WebhookInfo]:
        return await self._configuration("list_webhooks", agent_token, body, _WEBHOOKS)

    async def register_webhook(self, agent_token: str, body: wire.RegisterWebhookRequest) -> str:
        return (await self._configuration("register_webhook", agent_token, body, _REGISTERED)).id

    async def unregister_webhook(self, agent_token: str, body: wire.UnregisterWebhookRequest) -> None:
        await self._configuration("unregister_webhook", agent_token, body, _EMPTY)

    async def list_groups(self, agent_token: str) -> list[GroupInfo]:
        """Every group with its routing status (scope ``groups--all:ro``)."""
        body = {"fields": ["routing_status"]}
        return await self._configuration("list_groups", agent_token, body, _GROUPS)

    # --- plumbing --------------------------------------------------------------------------------

    async def _customer(
        self, method: str, auth: CustomerCredentials, body: Any, adapter: TypeAdapter[T]
    ) -> T:
        request = self._http.build_request(
            "POST",
            f"{self._api_url}/{API_VERSION}/customer/action/{method}",
            params={"organization_id": auth.organization_id},
            json=body,
            headers=_bearer(auth.access_token),
        )
        return await self._call(method, request, adapter)

    async def _configuration(self, method: str, agent_token: str, body: Any, adapter: TypeAdapter[T]) -> T:
        request = self._http.build_request(
            "POST",
            f"{self._api_url}/{API_VERSION}/configuration/action/{method}",
            json=body,
            headers=_bearer(agent_token),
        )
        return await self._call(method, request, adapter)

    async def _call(self, what: str, request: httpx.Request, adapter: TypeAdapter[T]) -> T:
        try:
            response = await self._http.send(request)
        except httpx.TransportError as exc:
            raise map_failure(what, exc) from exc
        body = _json_body(response)
        if not response.is_success or body is None or _is_error_body(body):
            raise map_failure(what, response)
        try:
            return adapter.validate_python(body)
        except ValidationError as exc:
            raise map_failure(what, response) from exc


def map_failure(what: str, failure: httpx.Response | httpx.TransportError) -> DeskError:
    """The one place where a failed LiveChat call becomes a typed error (§8).

    ``what`` names the API method. Branching is on LiveChat's ``error.type`` first, HTTP status second,
    because v3 does not document the status of each error type. Messages carry the method, the error
    type and LiveChat's own short message; never a token: should LiveChat's message quote a credential
    the request carried, it is cut out.
    """
    if isinstance(failure, httpx.TransportError):
        return DeskUnavailable(f"{what}: LiveChat could not be reached ({type(failure).__name__})")
    status = failure.status_code
    error_type, detail, oauth = _error_fields(_json_body(failure))
    error_type, detail = (_short(_without_credentials(text, failure)) for text in (error_type, detail))
    message = f"{what} failed: {error_type or f'HTTP {status}'}" + (f" ({detail})" if detail else "")
    if error_type == "too_many_requests" or status == 429:
        retry_after = _retry_after(failure.headers.get("Retry-After"))
        return DeskRateLimited(
            message, error_type=error_type or "too_many_requests", status=status, retry_after=retry_after
        )
    if oauth and error_type not in _OAUTH_UNAVAILABLE:
        return DeskAuthError(message, error_type=error_type, status=status)
    return _by_type(message, error_type, status)


def _by_type(message: str, error_type: str, status: int) -> DeskError:
    if error_type == "authentication":
        return DeskAuthError(message, error_type=error_type, status=status)
    if error_type == "chat_inactive":
        return ChatInactive(message, error_type=error_type, status=status)
    if error_type in _OFFLINE:
        return GroupsOffline(message, error_type=error_type, status=status)
    if error_type in _UNAVAILABLE or error_type in _OAUTH_UNAVAILABLE or status >= 500:
        return DeskUnavailable(message, error_type=error_type, status=status)
    if not error_type and status == 401:
        return DeskAuthError(message, error_type="authentication", status=status)
    if error_type:
        return DeskError(message, error_type=error_type, status=status)
    return DeskError(f"{message}: unexpected response from LiveChat", status=status)


def _error_fields(body: Any) -> tuple[str, str, bool]:
    """``(error_type, detail, is_oauth)`` from either error shape, or empty strings."""
    if not isinstance(body, dict):
        return "", "", False
    try:
        api = wire.ApiError.model_validate(body)
    except ValidationError:
        pass
    else:
        return api.error.type, api.error.message, False
    try:
        oauth = wire.AccountsError.model_validate(body)
    except ValidationError:
        return "", "", False
    return oauth.oauth_exception, oauth.exception_description, True


_FORM_CREDENTIALS = ("client_secret", "refresh_token", "code", "code_verifier")


def _without_credentials(text: str, response: httpx.Response) -> str:
    """``text`` with every credential the request carried (bearer token, OAuth form secrets) cut out."""
    try:
        request = response.request
    except RuntimeError:  # a response built by hand has no request, so nothing to cut
        return text
    credentials = []
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        credentials.append(token)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = httpx.QueryParams(request.content.decode())
        credentials.extend(form[name] for name in _FORM_CREDENTIALS if form.get(name))
    for credential in credentials:
        text = text.replace(credential, "***")
    return text


def _is_error_body(body: Any) -> bool:
    return isinstance(body, dict) and ("error" in body or "oauth_exception" in body)


def _json_body(response: httpx.Response) -> Any:
    """The decoded JSON body; ``{}`` for an empty body (LiveChat's "no payload" 200); None if not JSON."""
    if not response.content.strip():
        return {}
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header; None when absent or not a number of seconds."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _short(text: str) -> str:
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
