"""The OpenAPI document describes every operation a caller can reach, the webhooks included."""

from __future__ import annotations

from typing import Any

import pytest

from livehandoff.config import Settings
from livehandoff.web.app import create_app

DOCUMENT: dict[str, Any] = create_app(Settings()).openapi()


def operation(path: str, method: str = "post") -> dict[str, Any]:
    found: dict[str, Any] = DOCUMENT["paths"][path][method]
    return found


def test_the_livechat_webhook_is_described() -> None:
    webhook = operation("/webhooks/livechat")
    body = webhook["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"webhook_id", "secret_key", "action", "organization_id", "payload"}
    assert set(webhook["responses"]) == {"200", "400", "401", "403", "413", "503"}
    ack = webhook["responses"]["200"]["content"]["application/json"]["schema"]
    assert ack == {"$ref": "#/components/schemas/WebhookAck"}
    assert DOCUMENT["components"]["schemas"]["WebhookAck"]["properties"]["status"]["enum"] == [
        "processed",
        "ignored",
    ]


@pytest.mark.parametrize("path", ["/webhooks/dialogflow", "/webhooks/dialogflow-cx"])
def test_the_fulfillment_webhooks_are_described(path: str) -> None:
    webhook = operation(path)
    body = webhook["requestBody"]["content"]["application/json"]["schema"]
    assert body["title"] == "WebhookRequest"
    assert "cloud.google.com/dialogflow" in body["description"]
    assert set(webhook["responses"]) == {"200", "400", "401", "413"}
    assert "LIVEHANDOFF_DIALOGFLOW_WEBHOOK_TOKEN" in webhook["description"]


def test_only_the_demo_page_and_static_files_are_left_out() -> None:
    assert set(DOCUMENT["paths"]) == {
        "/v1/conversations",
        "/v1/conversations/{conversation_id}",
        "/v1/conversations/{conversation_id}/messages",
        "/v1/conversations/{conversation_id}/delivered",
        "/v1/conversations/{conversation_id}/cancel",
        "/v1/conversations/{conversation_id}/events",
        "/webhooks/livechat",
        "/webhooks/dialogflow",
        "/webhooks/dialogflow-cx",
        "/healthz",
        "/readyz",
    }
