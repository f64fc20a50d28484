"""Dialogflow fulfillment webhooks (ES and CX): verify → parse → hand off → answer."""

from __future__ import annotations

import base64
import binascii
import hmac

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from livehandoff.bridge import FulfillmentReply
from livehandoff.config import Settings
from livehandoff.errors import InvalidInput
from livehandoff.integrations.dialogflow.fulfillment import (
    FulfillmentAnswer,
    FulfillmentTurn,
    answer_cx,
    answer_es,
    parse_cx,
    parse_es,
)
from livehandoff.web.errors import error_response
from livehandoff.web.services import Services

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
log = structlog.get_logger("livehandoff.fulfillment")


@router.post("/dialogflow", include_in_schema=False)
async def dialogflow_es(request: Request) -> Response:
    """Dialogflow ES fulfillment (v2 ``WebhookRequest``)."""
    services: Services = request.app.state.services
    refused = _refuse(request, services.settings)
    if refused is not None:
        return refused
    try:
        turn, result = parse_es(await request.body())
    except InvalidInput as exc:
        return error_response(400, "bad_request", str(exc))
    reply = await _fulfill(services, turn)
    return _json(answer_es(turn.session, result, _answer(services.settings, reply)))


@router.post("/dialogflow-cx", include_in_schema=False)
async def dialogflow_cx(request: Request) -> Response:
    """Dialogflow CX fulfillment (v3 ``WebhookRequest``)."""
    services: Services = request.app.state.services
    refused = _refuse(request, services.settings)
    if refused is not None:
        return refused
    try:
        turn = parse_cx(await request.body())
    except InvalidInput as exc:
        return error_response(400, "bad_request", str(exc))
    reply = await _fulfill(services, turn)
    return _json(answer_cx(_answer(services.settings, reply)))


async def _fulfill(services: Services, turn: FulfillmentTurn) -> FulfillmentReply:
    language = turn.language or services.settings.default_language
    return await services.bridge.fulfill(
        session=turn.session, language=language, text=turn.text, turn=turn.turn
    )


def _answer(settings: Settings, reply: FulfillmentReply) -> FulfillmentAnswer:
    stream = None
    if reply.token is not None:
        stream = {
            "conversation_id": reply.conversation_id,
            "token": reply.token,
            "events_url": f"{settings.public_url}/v1/conversations/{reply.conversation_id}/events",
            "after": str(reply.seq),
        }
    return FulfillmentAnswer(
        texts=reply.texts, with_agent=reply.with_agent, keep_bot_messages=reply.bot_answered, stream=stream
    )


def _refuse(request: Request, settings: Settings) -> JSONResponse | None:
    """Basic auth or a header token, whichever is configured; with neither, every call is refused."""
    if _basic_ok(request, settings) or _token_ok(request, settings):
        return None
    log.warning("fulfillment.unauthorized")
    return error_response(401, "unauthorized", "fulfillment webhook credentials are missing or wrong")


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


def _json(body: str) -> Response:
    return Response(body, media_type="application/json")
