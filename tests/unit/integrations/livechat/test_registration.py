"""ensure_webhooks: register only what is missing for our URL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from livehandoff.integrations.livechat.auth import TokenManager
from livehandoff.integrations.livechat.client import LiveChatClient
from livehandoff.integrations.livechat.registration import WEBHOOK_FILTERS, ensure_webhooks

from .conftest import CLIENT_ID, FakeLiveChat, load

URL = "https://bridge.example.com/webhooks/livechat"
SECRET = "laudla991lamda0pnoaa0"


async def ensure(client: LiveChatClient, tokens: TokenManager) -> list[str]:
    return await ensure_webhooks(client, tokens=tokens, url=URL, secret=SECRET, owner_client_id=CLIENT_ID)


def listing(hooks: list[dict[str, Any]]) -> Any:
    return lambda call: httpx.Response(200, json=hooks)


def hook(action: str, **changes: Any) -> dict[str, Any]:
    value = {
        "id": f"id-{action}",
        "url": URL,
        "description": "",
        "action": action,
        "secret_key": SECRET,
        "filters": {},
        "owner_client_id": CLIENT_ID,
        "type": "license",
    }
    value.update(changes)
    return value


async def test_missing_webhooks_are_registered(
    client: LiveChatClient, tokens: TokenManager, fake: FakeLiveChat
) -> None:
    registered = await ensure(client, tokens)

    assert registered == ["user_added_to_chat", "chat_deactivated"]
    assert fake.actions == ["/v2/token", "list_webhooks", "register_webhook", "register_webhook"]
    assert fake.calls[1].json() == {"owner_client_id": CLIENT_ID}
    assert [call.json() for call in fake.calls_to("register_webhook")] == [
        {
            "action": "user_added_to_chat",
            "secret_key": SECRET,
            "url": URL,
            "type": "license",
            "owner_client_id": CLIENT_ID,
            "description": "livehandoff: user_added_to_chat",
            "filters": {"only_my_chats": True},
        },
        {
            "action": "chat_deactivated",
            "secret_key": SECRET,
            "url": URL,
            "type": "license",
            "owner_client_id": CLIENT_ID,
            "description": "livehandoff: chat_deactivated",
            "filters": {"only_my_chats": True},
        },
    ]
    assert all(call.bearer == "dal:agent-1" for call in fake.calls[1:])


async def test_a_fresh_license_gets_all_three(
    client: LiveChatClient, tokens: TokenManager, fake: FakeLiveChat
) -> None:
    fake.configuration_actions["list_webhooks"] = listing([])

    assert await ensure(client, tokens) == list(WEBHOOK_FILTERS)
    incoming = fake.calls_to("register_webhook")[0].json()
    assert incoming["action"] == "incoming_event"
    assert incoming["filters"] == {"author_type": "agent", "only_my_chats": True}


async def test_nothing_is_registered_twice(
    client: LiveChatClient, tokens: TokenManager, fake: FakeLiveChat
) -> None:
    fake.configuration_actions["list_webhooks"] = listing([hook(action) for action in WEBHOOK_FILTERS])

    assert await ensure(client, tokens) == []
    assert "register_webhook" not in fake.actions


async def test_listing_without_secrets_is_trusted(
    client: LiveChatClient, tokens: TokenManager, fake: FakeLiveChat
) -> None:
    hooks = [hook(action) for action in WEBHOOK_FILTERS]
    for value in hooks:
        del value["secret_key"]
    fake.configuration_actions["list_webhooks"] = listing(hooks)

    assert await ensure(client, tokens) == []


@pytest.mark.parametrize(
    "changes", [{"secret_key": "an-old-secret"}, {"type": "bot"}], ids=["other-secret", "bot-webhook"]
)
async def test_unusable_webhook_at_our_url_is_replaced(
    client: LiveChatClient, tokens: TokenManager, fake: FakeLiveChat, changes: dict[str, Any]
) -> None:
    hooks = [hook(action) for action in WEBHOOK_FILTERS]
    hooks[2].update(changes)
    fake.configuration_actions["list_webhooks"] = listing(hooks)

    assert await ensure(client, tokens) == ["chat_deactivated"]
    assert fake.actions[-2:] == ["unregister_webhook", "register_webhook"]
    assert fake.calls_to("unregister_webhook")[0].json() == {
        "id": "id-chat_deactivated",
        "owner_client_id": CLIENT_ID,
    }


async def test_webhooks_of_other_urls_are_left_alone(
    client: LiveChatClient, tokens: TokenManager, fake: FakeLiveChat
) -> None:
    others = load("list_webhooks")
    fake.configuration_actions["list_webhooks"] = listing(others)

    await ensure(client, tokens)

    assert "unregister_webhook" not in fake.actions
