"""Tokens for LiveChat: the bridge's agent identity and the customers it acts for.

Two token families (reference §1): an OAuth agent access token, refreshed with the app's refresh token,
and customer access tokens from the ``agent_token`` grant, one identity per customer (``entity_id``).
Both are cached until shortly before they expire, fetched once however many callers wait for them, and
fetched again once when LiveChat rejects them (``authentication``), after which the call is repeated.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self, TypeVar

import structlog
from pydantic import SecretStr

from livehandoff.errors import ConfigurationError, DeskAuthError
from livehandoff.integrations.livechat import wire
from livehandoff.integrations.livechat.client import CustomerCredentials, LiveChatClient
from livehandoff.locks import KeyedLocks

if TYPE_CHECKING:
    from livehandoff.config import Settings

T = TypeVar("T")

REFRESH_MARGIN_SECONDS = 300.0
"""Refresh this long before expiry (or 10 % of the lifetime, if that is shorter)."""

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class _Cached:
    token: str = field(repr=False)
    expires_at: float

    def fresh(self, now: float) -> bool:
        return now < self.expires_at


def _expiry(now: float, expires_in: float) -> float:
    return now + expires_in - min(REFRESH_MARGIN_SECONDS, expires_in * 0.1)


class TokenManager:
    """Agent and customer tokens, plus the organization id every customer call needs."""

    def __init__(
        self,
        client: LiveChatClient,
        *,
        client_id: str,
        client_secret: str | SecretStr,
        refresh_token: str | SecretStr,
        organization_id: str = "",
        license_id: str = "",
        clock: Callable[[], float] = time.monotonic,
        on_refresh_token: Callable[[str], Awaitable[None]] | None = None,
        max_cached_customers: int = 10_000,
    ) -> None:
        self._client = client
        self._client_id = client_id
        self._client_secret = SecretStr(_plain(client_secret))
        self._refresh_token = SecretStr(_plain(refresh_token))
        self._organization_id = organization_id
        self._license_id = license_id
        self._clock = clock
        self._on_refresh_token = on_refresh_token
        self._max_cached_customers = max_cached_customers
        self._agent: _Cached | None = None
        self._agent_lock = asyncio.Lock()
        self._organization_lock = asyncio.Lock()
        self._token_organization_id = ""
        self._customers: OrderedDict[str, _Cached] = OrderedDict()
        self._customer_locks = KeyedLocks()

    @classmethod
    def from_settings(cls, client: LiveChatClient, settings: Settings, **options: Any) -> Self:
        return cls(
            client,
            client_id=settings.livechat_client_id,
            client_secret=settings.livechat_client_secret,
            refresh_token=settings.livechat_refresh_token,
            organization_id=settings.livechat_organization_id,
            license_id=settings.livechat_license_id,
            **options,
        )

    @property
    def client_id(self) -> str:
        return self._client_id

    @property
    def refresh_token(self) -> SecretStr:
        """The newest refresh token (LiveChat may hand out a new one on each refresh)."""
        return self._refresh_token

    # --- agent -----------------------------------------------------------------------------------

    async def agent_token(self) -> str:
        """A valid agent access token; one refresh however many callers arrive together."""
        cached = self._agent
        if cached is not None and cached.fresh(self._clock()):
            return cached.token
        async with self._agent_lock:
            cached = self._agent
            if cached is not None and cached.fresh(self._clock()):
                return cached.token
            return await self._refresh_agent_token()

    def discard_agent_token(self, token: str) -> None:
        """Forget ``token`` if it is still the cached one (others may have refreshed already)."""
        if self._agent is not None and self._agent.token == token:
            self._agent = None

    async def as_agent(self, call: Callable[[str], Awaitable[T]]) -> T:
        """Run ``call(agent_token)``; on ``authentication`` refresh once and run it again."""
        token = await self.agent_token()
        try:
            return await call(token)
        except DeskAuthError:
            log.info("livechat.agent_token_rejected")
            self.discard_agent_token(token)
        return await call(await self.agent_token())

    async def _refresh_agent_token(self) -> str:
        now = self._clock()
        response = await self._client.refresh_agent_token(
            client_id=self._client_id,
            client_secret=self._client_secret.get_secret_value(),
            refresh_token=self._refresh_token.get_secret_value(),
        )
        self._agent = _Cached(response.access_token, _expiry(now, response.expires_in))
        self._token_organization_id = response.organization_id or self._token_organization_id
        log.info("livechat.agent_token_refreshed", expires_in=response.expires_in)
        if response.refresh_token and response.refresh_token != self._refresh_token.get_secret_value():
            await self._rotate_refresh_token(response.refresh_token)
        return response.access_token

    async def _rotate_refresh_token(self, new_token: str) -> None:
        self._refresh_token = SecretStr(new_token)
        log.info("livechat.refresh_token_rotated")
        if self._on_refresh_token is None:
            return
        try:
            await self._on_refresh_token(new_token)
        except Exception as exc:
            log.warning("livechat.refresh_token_not_saved", error=type(exc).__name__)

    # --- organization ----------------------------------------------------------------------------

    async def organization_id(self) -> str:
        """From settings, else looked up once from the license id, else the agent token's."""
        if self._organization_id:
            return self._organization_id
        async with self._organization_lock:
            if not self._organization_id:
                self._organization_id = await self._resolve_organization_id()
                log.info("livechat.organization_resolved", organization_id=self._organization_id)
        return self._organization_id

    async def _resolve_organization_id(self) -> str:
        if self._license_id:
            return await self._client.get_organization_id(self._license_id)
        await self.agent_token()
        if self._token_organization_id:
            return self._token_organization_id
        raise ConfigurationError("LiveChat organization unknown: set the organization id or the license id")

    # --- customers -------------------------------------------------------------------------------

    async def customer(self, entity_id: str | None) -> CustomerCredentials:
        """Credentials for the customer ``entity_id``; a new customer identity when None."""
        organization_id = await self.organization_id()
        if entity_id is None:
            return await self._grant_customer(None, organization_id)
        token = self._cached_customer(entity_id)
        if token is None:
            async with self._customer_locks.hold(entity_id):
                token = self._cached_customer(entity_id)
                if token is None:
                    return await self._grant_customer(entity_id, organization_id)
        return CustomerCredentials(entity_id, token, organization_id)

    def discard_customer_token(self, credentials: CustomerCredentials) -> None:
        cached = self._customers.get(credentials.entity_id)
        if cached is not None and cached.token == credentials.access_token:
            del self._customers[credentials.entity_id]

    async def as_customer(
        self, entity_id: str | None, call: Callable[[CustomerCredentials], Awaitable[T]]
    ) -> T:
        """Run ``call(credentials)``; on ``authentication`` get a new token for the same customer, once."""
        credentials = await self.customer(entity_id)
        try:
            return await call(credentials)
        except DeskAuthError:
            log.info("livechat.customer_token_rejected", customer_id=credentials.entity_id)
            self.discard_customer_token(credentials)
        return await call(await self.customer(credentials.entity_id))

    def _cached_customer(self, entity_id: str) -> str | None:
        cached = self._customers.get(entity_id)
        if cached is None or not cached.fresh(self._clock()):
            return None
        self._customers.move_to_end(entity_id)
        return cached.token

    async def _grant_customer(self, entity_id: str | None, organization_id: str) -> CustomerCredentials:
        now = self._clock()

        async def grant(agent_token: str) -> wire.CustomerTokenResponse:
            return await self._client.grant_customer_token(
                agent_token=agent_token, client_id=self._client_id, entity_id=entity_id
            )

        response = await self.as_agent(grant)
        self._remember_customer(
            response.entity_id, _Cached(response.access_token, _expiry(now, response.expires_in))
        )
        if entity_id is None:
            log.info("livechat.customer_created", customer_id=response.entity_id)
        return CustomerCredentials(response.entity_id, response.access_token, organization_id)

    def _remember_customer(self, entity_id: str, cached: _Cached) -> None:
        self._customers[entity_id] = cached
        self._customers.move_to_end(entity_id)
        while len(self._customers) > self._max_cached_customers:
            self._customers.popitem(last=False)


def _plain(value: str | SecretStr) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value
