"""Verify and parse LiveChat webhook deliveries.

LiveChat signs nothing: the ``secret_key`` given at registration comes back in plain text inside every
JSON body (reference §5.1). So the secret is checked first, in constant time, before anything else of
the payload is looked at; then the envelope is validated and the payload translated.

Checking it must not cost more than the sender spends: a body may be 1 MB, and parsing 1 MB of JSON
takes tens of milliseconds of the event loop (many nested arrays: more). So the secret is looked for
in the raw bytes first, and a body without it is refused unparsed; only then is the document parsed,
and its top-level ``secret_key`` checked again.
"""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

from pydantic import ValidationError

from livehandoff.domain.model import DeskUpdate
from livehandoff.errors import ConfigurationError, InvalidInput
from livehandoff.integrations.livechat import translate, wire

SECRET_KEY = re.compile(rb'"secret_key"\s*+:\s*+"')
"""Where a ``"secret_key": "..."`` member's value starts, anywhere in a body. In valid JSON every match is a
real member (a quote inside a string is escaped), so a body that has ours has a match holding it."""
STRING_REST = re.compile(rb'(?:[^"\\]++|\\.)*+"')
"""The rest of a JSON string literal after its opening quote (possessive: no backtracking)."""
MAX_SECRET_CANDIDATES = 8
"""LiveChat sends one ``secret_key``; a body with many only makes us compare more."""
ESCAPED_CHAR_BYTES = 12
"""The most one character can take in a JSON string: a surrogate pair of ``\\uXXXX`` escapes."""


class WebhookSecretMismatch(InvalidInput):
    """The delivery's ``secret_key`` is missing or is not ours: it did not come from our registration."""


class WebhookOrganizationMismatch(InvalidInput):
    """The delivery has our secret but names another LiveChat organization than the one configured."""


def parse_webhook(body: bytes, *, secret: str, organization_id: str = "") -> DeskUpdate | None:
    """The domain event of a webhook delivery, or None for actions and events the bridge ignores.

    Raises ``WebhookSecretMismatch`` when the secret is wrong (without parsing a body that does not hold
    it), ``WebhookOrganizationMismatch`` when ``organization_id`` is set and the delivery names another
    organization, ``InvalidInput`` when the body is not a webhook we understand.
    """
    if not carries_secret(body, secret):
        raise WebhookSecretMismatch("webhook secret_key does not match")
    document = _load(body)
    verify_secret(document.get("secret_key"), secret)
    envelope = _envelope(document)
    verify_organization(envelope.organization_id, organization_id)
    return translate.desk_event(envelope.action, envelope.payload)


def carries_secret(body: bytes, secret: str) -> bool:
    """Whether some ``secret_key`` member of ``body`` holds ``secret``, found without parsing the body.

    One linear scan of the bytes; at most ``MAX_SECRET_CANDIDATES`` values are read, none further than
    our secret could be long, and only those are decoded. A value that is not valid JSON is no match.
    """
    if not secret:
        raise ConfigurationError("no LiveChat webhook secret is configured")
    expected = secret.encode()
    longest = ESCAPED_CHAR_BYTES * len(secret) + 1  # and the closing quote
    for count, key in enumerate(SECRET_KEY.finditer(body)):
        if count == MAX_SECRET_CANDIDATES:
            break
        # A value longer than our secret could ever be written is not read to its end.
        rest = STRING_REST.match(body, key.end(), key.end() + longest)
        if rest is None:
            continue
        try:
            given = json.loads(body[key.end() - 1 : rest.end()])
        except ValueError:
            continue
        if isinstance(given, str) and hmac.compare_digest(_utf8(given), expected):
            return True
    return False


def verify_secret(given: object, secret: str) -> None:
    if not secret:
        raise ConfigurationError("no LiveChat webhook secret is configured")
    if not isinstance(given, str) or not hmac.compare_digest(_utf8(given), secret.encode()):
        raise WebhookSecretMismatch("webhook secret_key does not match")


def _utf8(text: str) -> bytes:
    """JSON can spell a lone surrogate (``"\\ud800"``), which plain ``encode`` refuses."""
    return text.encode("utf-8", "surrogatepass")


def verify_organization(given: str, expected: str) -> None:
    """With an organization configured, only its deliveries count; without one, any is accepted."""
    if expected and given != expected:
        raise WebhookOrganizationMismatch("webhook is for another LiveChat organization")


def _load(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except RecursionError as exc:
        raise InvalidInput("webhook body is nested too deeply") from exc
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
