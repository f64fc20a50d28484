"""Building the LiveChat parts from the frozen settings."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from livehandoff.config import Settings
from livehandoff.integrations.livechat.auth import TokenManager
from livehandoff.integrations.livechat.client import LiveChatClient

from .conftest import (
    ACCOUNTS_URL,
    API_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    ORGANIZATION_ID,
    REFRESH_TOKEN,
    FakeLiveChat,
)


async def test_client_and_tokens_come_from_settings(http: httpx.AsyncClient, fake: FakeLiveChat) -> None:
    settings = Settings(
        livechat_api_url=API_URL + "/",
        livechat_accounts_url=ACCOUNTS_URL,
        livechat_client_id=CLIENT_ID,
        livechat_client_secret=SecretStr(CLIENT_SECRET),
        livechat_refresh_token=SecretStr(REFRESH_TOKEN),
        livechat_organization_id=ORGANIZATION_ID,
    )
    client = LiveChatClient.from_settings(http, settings)
    tokens = TokenManager.from_settings(client, settings)

    customer = await tokens.customer(None)

    assert tokens.client_id == CLIENT_ID
    assert customer.organization_id == ORGANIZATION_ID
    assert fake.actions == ["/v2/token", "/v2/customer/token"]
