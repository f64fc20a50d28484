"""Verify and parse LiveChat webhook deliveries.

LiveChat signs nothing: the ``secret_key`` given at registration comes back in plain text inside every
JSON body (reference §5.1). So the secret is checked first, in constant time, before anything else of
the payload is looked at; then the envelope is validated and the payload translated.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from pydantic import ValidationError

from livehandoff.domain.model import DeskUpdate
from livehandoff.errors import ConfigurationError, InvalidInput
from livehandoff.integrations.livechat import translate, wire


class WebhookSecretMismatch(InvalidInput):
    """The delivery's ``secret_key`` is missing or is not ours: it did not come from our registration."""


def parse_webhook(body: bytes, *, secret: str) -> DeskUpdate | None:
    """The domain event of a webhook delivery, or None for actions and events the bridge ignores.

    Raises ``WebhookSecretMismatch`` when the secret is wrong, ``InvalidInput`` when the body is not a
    webhook we understand.
    """
    document = _load(body)
    verify_secret(document.get("secret_key"), secret)
    envelope = _envelope(document)
    return translate.desk_event(envelope.action, envelope.payload)


def verify_secret(given: object, secret: str) -> None:
    if not secret:
        raise ConfigurationError("no LiveChat webhook secret is configured")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), secret.encode()):
        raise WebhookSecretMismatch("webhook secret_key does not match")


def _load(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise InvalidInput("webhook body is not JSON") from exc
    if not isinstance(document, dict):
        raise InvalidInput("webhook body is not a JSON object")
    return document


def _envelope(document: dict[str, Any]) -> wire.WebhookEnvelope:
    try:
        return wire.WebhookEnvelope.model_validate(document)
    except ValidationError as exc:
        raise InvalidInput(f"webhook envelope invalid ({translate.describe_errors(exc)})") from exc
