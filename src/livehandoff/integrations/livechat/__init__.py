"""LiveChat as the agent desk: client, tokens, webhooks and the ``AgentDesk`` implementation."""

from livehandoff.integrations.livechat.auth import TokenManager
from livehandoff.integrations.livechat.client import CustomerCredentials, LiveChatClient
from livehandoff.integrations.livechat.desk import LiveChatDesk
from livehandoff.integrations.livechat.registration import WEBHOOK_FILTERS, ensure_webhooks
from livehandoff.integrations.livechat.webhook import WebhookSecretMismatch, parse_webhook

__all__ = [
    "WEBHOOK_FILTERS",
    "CustomerCredentials",
    "LiveChatClient",
    "LiveChatDesk",
    "TokenManager",
    "WebhookSecretMismatch",
    "ensure_webhooks",
    "parse_webhook",
]
