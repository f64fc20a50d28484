"""What a handler of the web edge can ask for, each written once: the services, the rate limiter, the
conversation a token opens, and the services for a verified fulfillment caller.

FastAPI runs these dependencies before it validates the handler's own body, headers and query, so a
request without the right token or credentials is refused with 401 whatever else is wrong with it. Only
a body that cannot be read as JSON at all is refused earlier (422 or 400): FastAPI reads it before any
dependency runs.

They are coroutines although most of them do not await: FastAPI calls a plain function in a worker thread.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Annotated

import structlog
from fastapi import Depends, Header, HTTPException, Query, Request

from livehandoff.config import Settings
from livehandoff.domain.model import Conversation
from livehandoff.errors import ConversationNotFound, InvalidToken
from livehandoff.web.ratelimit import RateLimiter
from livehandoff.web.services import Services

log = structlog.get_logger("livehandoff.fulfillment")


async def get_services(request: Request) -> Services:
    """The services the app's lifespan opened (or the ones ``create_app`` was given)."""
    services: Services = request.app.state.services
    return services


async def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


ServicesDep = Annotated[Services, Depends(get_services)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


# --- the customer API: a conversation's token ---------------------------------------------------------


async def authorized_conversation(
    services: ServicesDep,
    conversation_id: str,
    authorization: Annotated[str | None, Header()] = None,
) -> Conversation:
    """The conversation an ``Authorization: Bearer`` token opens."""
    return await _authorize(services, conversation_id, _bearer(authorization, None))


async def authorized_stream(
    services: ServicesDep,
    conversation_id: str,
    authorization: Annotated[str | None, Header()] = None,
    token: Annotated[str | None, Query(description="For EventSource, which cannot send headers")] = None,
) -> Conversation:
    """Like :func:`authorized_conversation`, also taking the token from ``?token=``.

    Only the event stream accepts it: a browser's ``EventSource`` cannot send headers. A separate
    dependency keeps ``token`` out of every other operation, and out of their OpenAPI parameters.
    """
    return await _authorize(services, conversation_id, _bearer(authorization, token))


AuthorizedConversation = Annotated[Conversation, Depends(authorized_conversation)]
"""The conversation of the path, once the bearer token is checked: 401 without it or with a wrong one,
404 for an unknown id."""
AuthorizedStream = Annotated[Conversation, Depends(authorized_stream)]
"""The same for the event stream, whose token may come in the query."""


def _bearer(authorization: str | None, token: str | None) -> str | None:
    """A present ``Authorization`` header decides, even when it is not a bearer token."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    return token


async def _authorize(services: Services, conversation_id: str, bearer: str | None) -> Conversation:
    if bearer is None:
        raise InvalidToken("missing bearer token", conversation_id=conversation_id)
    if "\x00" in conversation_id:
        # No id holds U+0000, and PostgreSQL refuses it even in a lookup (docs/api.md).
        raise ConversationNotFound("no such conversation", conversation_id=conversation_id)
    return await services.bridge.authorize(conversation_id, bearer)


# --- fulfillment webhooks: Dialogflow's credentials ---------------------------------------------------


async def fulfillment_caller(request: Request, services: ServicesDep) -> Services:
    """Basic auth or a header token, whichever is configured; with neither, every call is refused."""
    if _basic_ok(request, services.settings) or _token_ok(request, services.settings):
        return services
    log.warning("fulfillment.unauthorized")
    raise HTTPException(401, "fulfillment webhook credentials are missing or wrong")


FulfillmentServices = Annotated[Services, Depends(fulfillment_caller)]
"""The services, for a caller that proved to be Dialogflow; anyone else gets 401 ``unauthorized``."""


def _basic_ok(request: Request, settings: Settings) -> bool:
    password = settings.dialogflow_webhook_password.get_secret_value()
    if not settings.dialogflow_webhook_username or not password:
        return False
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, given = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(
        user.encode(), settings.dialogflow_webhook_username.encode()
    ) & hmac.compare_digest(given.encode(), password.encode())


def _token_ok(request: Request, settings: Settings) -> bool:
    token = settings.dialogflow_webhook_token.get_secret_value()
    given = request.headers.get(settings.dialogflow_webhook_header, "")
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())
