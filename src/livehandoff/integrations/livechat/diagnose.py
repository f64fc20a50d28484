"""What ``livehandoff check --live`` asks LiveChat, answered as plain values (wire shapes stay here).

Nothing here changes LiveChat: the agent token is refreshed (which any start does), webhooks and groups
are listed. Creating a customer would test ``customers:own`` for real, but would leave a customer behind
on every check, so the token's scopes are read instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from livehandoff.integrations.livechat.auth import TokenManager
from livehandoff.integrations.livechat.client import LiveChatClient
from livehandoff.integrations.livechat.registration import list_webhooks


@dataclass(frozen=True, slots=True)
class AgentAccess:
    """Whose agent token the refresh token opens, in which organization, with which scopes."""

    account_id: str
    organization_id: str
    scopes: frozenset[str]
    rotated: bool
    """LiveChat handed out a refresh token other than the one configured."""


@dataclass(frozen=True, slots=True)
class Registration:
    """One webhook registered for the app."""

    id: str
    action: str
    url: str
    secret: str | None = field(repr=False)
    """The secret LiveChat lists for it, when it lists one."""


@dataclass(frozen=True, slots=True)
class Group:
    """A LiveChat group and whether anyone in it takes chats now."""

    id: int
    name: str
    routing_status: str | None


async def agent_access(
    client: LiveChatClient, *, client_id: str, client_secret: str, refresh_token: str
) -> AgentAccess:
    """Refresh the agent token once; ``DeskError`` when LiveChat refuses."""
    grant = await client.refresh_agent_token(
        client_id=client_id, client_secret=client_secret, refresh_token=refresh_token
    )
    return AgentAccess(
        account_id=grant.account_id,
        organization_id=grant.organization_id or "",
        scopes=frozenset(scope.strip() for scope in grant.scope.split(",") if scope.strip()),
        rotated=bool(grant.refresh_token) and grant.refresh_token != refresh_token,
    )


async def registrations(
    client: LiveChatClient, *, tokens: TokenManager, owner_client_id: str
) -> list[Registration]:
    """Every webhook of the app, wherever it delivers."""
    found = await list_webhooks(client, tokens=tokens, owner_client_id=owner_client_id)
    return [Registration(hook.id, hook.action, hook.url, hook.secret_key) for hook in found]


async def groups(client: LiveChatClient, *, tokens: TokenManager) -> list[Group]:
    """Every group with its routing status (scope ``groups--all:ro``)."""
    found = await tokens.as_agent(client.list_groups)
    return [Group(group.id, group.name, group.routing_status) for group in found]
