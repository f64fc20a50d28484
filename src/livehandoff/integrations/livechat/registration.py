"""Register the license webhooks the bridge needs, once, idempotently.

Webhooks cannot be edited, only registered and unregistered, and there may be at most three per action
and client id (reference §2.3). So: list ours, keep each one already pointing at our URL, register the
missing ones. A webhook at our URL whose listed secret is not ours would have every delivery refused,
so it is replaced.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

import structlog

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


async def ensure_webhooks(
    client: LiveChatClient, *, tokens: TokenManager, url: str, secret: str, owner_client_id: str
) -> list[str]:
    """Make sure each action of ``WEBHOOK_FILTERS`` is delivered to ``url``; return the actions registered."""
    listing: wire.ListWebhooksRequest = {"owner_client_id": owner_client_id}
    existing = await tokens.as_agent(lambda token: client.list_webhooks(token, listing))
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
    webhook_id = await tokens.as_agent(lambda token: client.register_webhook(token, body))
    log.info("livechat.webhook_registered", action=body["action"], webhook_id=webhook_id, url=body["url"])


async def _unregister(
    client: LiveChatClient, tokens: TokenManager, webhook_id: str, owner_client_id: str
) -> None:
    body: wire.UnregisterWebhookRequest = {"id": webhook_id, "owner_client_id": owner_client_id}
    await tokens.as_agent(lambda token: client.unregister_webhook(token, body))
    log.info("livechat.webhook_replaced", webhook_id=webhook_id)
