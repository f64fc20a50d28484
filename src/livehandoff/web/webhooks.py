"""Inbound webhooks: verify → parse → hand off → answer."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from livehandoff.errors import DeskUnavailable, InvalidInput
from livehandoff.integrations.livechat.webhook import (
    WebhookOrganizationMismatch,
    WebhookSecretMismatch,
    parse_webhook,
)
from livehandoff.web.dependencies import ServicesDep
from livehandoff.web.errors import error_response
from livehandoff.web.schemas import ErrorOut, LiveChatWebhook, WebhookAck, json_body

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
log = structlog.get_logger("livehandoff.webhooks")

LIVECHAT_ANSWERS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The secret is right, but the body is not a webhook envelope"},
    401: {"model": ErrorOut, "description": "No secret_key, a wrong one, or no secret configured"},
    403: {"model": ErrorOut, "description": "The right secret, but another organization_id"},
    413: {"model": ErrorOut, "description": "Body larger than LIVEHANDOFF_MAX_WEBHOOK_BODY_BYTES"},
    503: {
        "model": ErrorOut,
        "description": "LiveChat could not be read; LiveChat delivers the webhook again",
    },
}


@router.post(
    "/livechat",
    response_model=WebhookAck,
    responses=LIVECHAT_ANSWERS,
    openapi_extra=json_body(
        LiveChatWebhook.model_json_schema(),
        "A webhook delivery; the secret is checked before the body is parsed",
    ),
)
async def livechat_webhook(request: Request, services: ServicesDep) -> JSONResponse:
    """LiveChat's license webhooks. A wrong ``secret_key`` changes nothing and gets a 401; the right one
    from another organization than ``LIVEHANDOFF_LIVECHAT_ORGANIZATION_ID`` gets a 403."""
    body = await request.body()
    settings = services.settings
    secret = settings.livechat_webhook_secret.get_secret_value()
    if not secret:
        log.warning("webhook.refused_without_secret")
        return error_response(401, "unauthorized", "no webhook secret is configured; webhooks are refused")
    try:
        event = parse_webhook(body, secret=secret, organization_id=settings.livechat_organization_id)
    except WebhookSecretMismatch:
        log.warning("webhook.secret_mismatch")
        return error_response(401, "unauthorized", "wrong secret_key")
    except WebhookOrganizationMismatch:
        log.warning("webhook.organization_mismatch")
        return error_response(403, "forbidden", "this webhook is for another LiveChat organization")
    except InvalidInput as exc:
        return error_response(400, "bad_request", str(exc))
    if event is None:
        return JSONResponse({"status": "ignored"})
    try:
        processed = await services.bridge.handle_desk_update(event)
    except DeskUnavailable:
        # Nothing was recorded; LiveChat redelivers a webhook that did not get a 200.
        return error_response(503, "unavailable", "LiveChat could not be read; deliver this webhook again")
    return JSONResponse({"status": "processed" if processed else "ignored"})
