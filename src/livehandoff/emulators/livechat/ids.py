"""Identifiers, tokens and timestamps shaped like LiveChat's (reference §6.1).

Chat and thread ids are 10 upper-case alphanumerics, customers are UUIDs, client ids 32 hex digits,
access tokens carry the ``dal:`` region prefix, timestamps are RFC 3339 UTC with microseconds.
"""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]
"""Seconds since the epoch; injected so token expiry and queue times can be driven by tests."""

_ID_ALPHABET = string.ascii_uppercase + string.digits
REGION_PREFIX = "dal:"


def short_id(length: int = 10) -> str:
    """A chat or thread id such as ``PJ0MRSHTDG``."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def new_uuid() -> str:
    """A customer or organization id."""
    return str(uuid.uuid4())


def new_hex(length: int = 32) -> str:
    """A client id, webhook id or secret made of lower-case hex digits."""
    return secrets.token_hex(length // 2)


def new_access_token() -> str:
    """An opaque access token with the region prefix LiveChat puts on them."""
    return REGION_PREFIX + secrets.token_urlsafe(24)


def new_opaque(nbytes: int = 24) -> str:
    """Refresh tokens and authorization codes: opaque, no region prefix."""
    return secrets.token_urlsafe(nbytes)


def format_time(timestamp: float) -> str:
    """``2019-12-17T07:57:41.512000Z``."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
