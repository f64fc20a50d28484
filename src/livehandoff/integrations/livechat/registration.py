"""Register the license webhooks the bridge needs, once, idempotently; list and prune the others.

Webhooks cannot be edited, only registered and unregistered, and there may be at most three per action
and client id (reference §2.3). So: list ours, keep each one already pointing at our URL, register the
missing ones. A webhook at our URL whose listed secret is not ours would have every delivery refused,
so it is replaced.

Webhooks of this app at other URLs (an old ``PUBLIC_URL``, a test tunnel) are left alone at start-up:
another deployment of the same app may still use them. They do count against the limit, so when LiveChat
refuses a registration with ``limit_reached`` the error says how to remove them
(``livehandoff livechat webhooks --prune``, which calls :func:`prune_webhooks`).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

import structlog

from livehandoff.errors import DeskError
from livehandoff.integrations.livechat import wire
from livehandoff.integrations.livechat.auth import TokenManager
from livehandoff.integrations.livechat.client import LiveChatClient

log = structlog.get_logger(__name__)

WEBHOOK_FILTERS: Mapping[str, Mapping[str, Any]] = {
    "incoming_event": {"author_type": "agent", "only_my_chats": True},
    "user_added_to_chat": {"only_my_chats": True},
    "chat_deactivated": {"only_my_chats": True},
}
"""The actions the bridge listens to, each limited to chats our app started (``only_my_chats``)."""
MAX_PER_ACTION = 3
"""LiveChat's limit of webhooks per action and client id (reference §2.3)."""
PRUNE = "livehandoff livechat webhooks --prune"


async def ensure_webhooks(
    client: LiveChatClient, *, tokens: TokenManager, url: str, secret: str, owner_client_id: str
) -> list[str]:
    """Make sure each action of ``WEBHOOK_FILTERS`` is delivered to ``url``; return the actions registered."""
    existing = await list_webhooks(client, tokens=tokens, owner_client_id=owner_client_id)
    registered = []
    for action, filters in WEBHOOK_FILTERS.items():
        ours = [hook for hook in existing if hook.action == action and hook.url == url]
        if any(_usable(hook, secret) for hook in ours):
            continue
        for stale in ours:
            await _unregister(client, tokens, stale.id, owner_client_id)
        body = _registration(action, filters, url=url, secret=secret, owner_client_id=owner_client_id)
        await _register(client, tokens, body)
        registered.append(action)
    return registered


def _usable(hook: wire.WebhookInfo, secret: str) -> bool:
    """Listed secrets are compared when LiveChat shows them; a bot webhook would miss license chats."""
    if hook.type not in (None, "license"):
        return False
    return hook.secret_key is None or hmac.compare_digest(hook.secret_key.encode(), secret.encode())


def _registration(
    action: str, filters: Mapping[str, Any], *, url: str, secret: str, owner_client_id: str
) -> wire.RegisterWebhookRequest:
    return {
        "action": action,
        "secret_key": secret,
        "url": url,
        "type": "license",
        "owner_client_id": owner_client_id,
        "description": f"livehandoff: {action}",
        "filters": dict(filters),
    }


async def _register(client: LiveChatClient, tokens: TokenManager, body: wire.RegisterWebhookRequest) -> None:
    try:
        webhook_id = await tokens.as_agent(lambda token: client.register_webhook(token, body))
    except DeskError as exc:
        if exc.error_type != "limit_reached":
            raise
        message = (
            f"LiveChat refused to register the {body['action']} webhook: this app already has "
            f"{MAX_PER_ACTION} for it, the most LiveChat allows, at URLs other than {body['url']}; "
            f"run `{PRUNE}` to remove this app's webhooks for other URLs"
        )
        raise DeskError(message, error_type=exc.error_type, status=exc.status) from exc
    log.info("livechat.webhook_registered", action=body["action"], webhook_id=webhook_id, url=body["url"])


async def _unregister(
    client: LiveChatClient,
    tokens: TokenManager,
    webhook_id: str,
    owner_client_id: str,
    *,
    event: str = "livechat.webhook_replaced",
) -> None:
    body: wire.UnregisterWebhookRequest = {"id": webhook_id, "owner_client_id": owner_client_id}
    await tokens.as_agent(lambda token: client.unregister_webhook(token, body))
    log.info(event, webhook_id=webhook_id)


async def list_webhooks(
    client: LiveChatClient, *, tokens: TokenManager, owner_client_id: str
) -> list[wire.WebhookInfo]:
    """Every webhook registered for the app ``owner_client_id``, whatever its URL."""
    listing: wire.ListWebhooksRequest = {"owner_client_id": owner_client_id}
    return await tokens.as_agent(lambda token: client.list_webhooks(token, listing))


def elsewhere(webhooks: list[wire.WebhookInfo], url: str) -> list[wire.WebhookInfo]:
    """The webhooks that do not deliver to ``url``."""
    return [hook for hook in webhooks if hook.url != url]


async def prune_webhooks(
    client: LiveChatClient, *, tokens: TokenManager, url: str, owner_client_id: str
) -> list[wire.WebhookInfo]:
    """Unregister every webhook of the app that delivers somewhere other than ``url``; return them."""
    stale = elsewhere(await list_webhooks(client, tokens=tokens, owner_client_id=owner_client_id), url)
    for hook in stale:
        await _unregister(client, tokens, hook.id, owner_client_id, event="livechat.webhook_pruned")
    return stale
