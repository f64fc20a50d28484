"""Dialogflow fulfillment webhooks (ES and CX): verify → parse → hand off → answer.

The caller is verified by the ``FulfillmentServices`` dependency (``web/dependencies.py``) before the
body is read.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

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
from livehandoff.web.dependencies import FulfillmentServices
from livehandoff.web.errors import error_response
from livehandoff.web.schemas import ErrorOut, dialogflow_message, json_body
from livehandoff.web.services import Services

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

ES_REFERENCE = "https://cloud.google.com/dialogflow/es/docs/reference/rpc/google.cloud.dialogflow.v2"
CX_REFERENCE = "https://cloud.google.com/dialogflow/cx/docs/reference/rpc/google.cloud.dialogflow.cx.v3"
CREDENTIALS = (
    "Dialogflow's credentials: basic auth (LIVEHANDOFF_DIALOGFLOW_WEBHOOK_USERNAME and _PASSWORD) or"
    " the header named by LIVEHANDOFF_DIALOGFLOW_WEBHOOK_HEADER holding LIVEHANDOFF_DIALOGFLOW_WEBHOOK_TOKEN."
)


def _answers(edition: str, reference: str) -> dict[str, Any]:
    """The operation's documentation: Google's request and response, and our refusals."""
    return {
        "description": f"Dialogflow {edition} fulfillment. {CREDENTIALS}",
        "responses": {
            200: {
                "description": "Dialogflow's WebhookResponse",
                "content": {
                    "application/json": {
                        "schema": dialogflow_message("WebhookResponse", f"{reference}#webhookresponse")
                    }
                },
            },
            400: {"model": ErrorOut, "description": "Not a Dialogflow WebhookRequest"},
            401: {"model": ErrorOut, "description": "Missing or wrong credentials, or none configured"},
            413: {"model": ErrorOut, "description": "Body larger than LIVEHANDOFF_MAX_BODY_BYTES"},
        },
        "openapi_extra": json_body(
            dialogflow_message("WebhookRequest", f"{reference}#webhookrequest"), "Dialogflow's WebhookRequest"
        ),
    }


@router.post("/dialogflow", response_class=Response, **_answers("ES", ES_REFERENCE))
async def dialogflow_es(request: Request, services: FulfillmentServices) -> Response:
    """Dialogflow ES fulfillment (v2 ``WebhookRequest``)."""
    try:
        turn, result = parse_es(await request.body())
    except InvalidInput as exc:
        return error_response(400, "bad_request", str(exc))
    reply = await _fulfill(services, turn)
    return _json(answer_es(turn.session, result, _answer(services.settings, reply)))


@router.post("/dialogflow-cx", response_class=Response, **_answers("CX", CX_REFERENCE))
async def dialogflow_cx(request: Request, services: FulfillmentServices) -> Response:
    """Dialogflow CX fulfillment (v3 ``WebhookRequest``)."""
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


def _json(body: str) -> Response:
    return Response(body, media_type="application/json")
