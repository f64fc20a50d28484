"""Fulfillment webhooks: Dialogflow's ES and CX ``WebhookRequest`` in, ``WebhookResponse`` out.

For teams that keep Dialogflow's own front end (Dialogflow Messenger, say): Dialogflow calls us on each
turn, and our answer adds the agent's messages and marks the session as being with an agent — an ES
output context or a CX session parameter, which the agent's catch-all route keys on (docs/dialogflow.md).
Requests are parsed and responses built with the official types; strings of a request lose their NUL
characters (U+0000) before anything else reads them (docs/api.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from google.cloud import dialogflowcx_v3
from google.cloud.dialogflow_v2.types import Context, Intent, WebhookRequest, WebhookResponse
from google.protobuf import json_format

from livehandoff.domain.model import BotTurn
from livehandoff.errors import InvalidInput
from livehandoff.integrations.dialogflow.translate import turn_from_query_result, without_nul
from livehandoff.integrations.dialogflow.translate_cx import turn_from_cx_query_result

AGENT_CONTEXT = "livehandoff-agent"
"""ES output context that is active while the session is with an agent."""
AGENT_CONTEXT_LIFESPAN = 50
AGENT_PARAMETER = "livehandoff_with_agent"
"""CX session parameter that is true while the session is with an agent."""
PAYLOAD_KEY = "livehandoff"

_CLEAN_JSON: dict[str, Any] = {
    "use_integers_for_enums": False,
    "always_print_fields_with_no_presence": False,
    "indent": None,
}


@dataclass(frozen=True, slots=True)
class FulfillmentTurn:
    """One turn as Dialogflow reports it to its webhook."""

    session: str
    language: str
    text: str
    turn: BotTurn


@dataclass(frozen=True, slots=True)
class FulfillmentAnswer:
    """What to add to Dialogflow's answer for this turn."""

    texts: Sequence[str]
    with_agent: bool
    keep_bot_messages: bool
    """The bot's own messages of this turn stand (false while the session is with an agent)."""
    stream: Mapping[str, str] | None = None
    """``conversation_id``, ``token`` and ``events_url`` for a page script, on the turn that handed off."""


def parse_es(body: bytes) -> tuple[FulfillmentTurn, dict[str, Any]]:
    """The turn of an ES ``WebhookRequest``, and its ``queryResult`` as camelCase JSON."""
    request = _parse(WebhookRequest, body)
    data: dict[str, Any] = without_nul(json_format.MessageToDict(WebhookRequest.pb(request)))
    result = data.get("queryResult") or {}
    session = str(data.get("session") or "")
    if not session:
        raise InvalidInput("the WebhookRequest has no session")
    turn = FulfillmentTurn(
        session=session,
        language=str(result.get("languageCode") or ""),
        text=str(result.get("queryText") or ""),
        turn=turn_from_query_result(result),
    )
    return turn, result


def answer_es(session: str, result: Mapping[str, Any], answer: FulfillmentAnswer) -> str:
    """An ES ``WebhookResponse``; ``{}`` when there is nothing to add (Dialogflow's own answer stands).

    Messages in a response replace the intent's, so the bot's messages of the turn are copied in front
    of ours whenever the bot's answer is meant to stand.
    """
    contexts = []
    if answer.with_agent or _was_with_agent(result):
        contexts.append(_agent_context(session, answer.with_agent))
    messages: list[Intent.Message] = []
    if answer.texts or answer.stream is not None:
        if answer.keep_bot_messages:
            messages.extend(
                Intent.Message.from_json(json.dumps(m)) for m in result.get("fulfillmentMessages") or ()
            )
        messages.extend(Intent.Message(text=Intent.Message.Text(text=[text])) for text in answer.texts)
        if answer.stream is not None:
            messages.append(Intent.Message(payload={PAYLOAD_KEY: dict(answer.stream)}))
    elif not answer.keep_bot_messages:
        # With an agent, whatever intent matched must not answer: any message replaces its static
        # responses, and a payload of ours shows nothing.
        messages.append(Intent.Message(payload={PAYLOAD_KEY: {"relayed": True}}))
    if not messages and not contexts:
        return "{}"
    return str(
        WebhookResponse.to_json(
            WebhookResponse(fulfillment_messages=messages, output_contexts=contexts), **_CLEAN_JSON
        )
    )


def parse_cx(body: bytes) -> FulfillmentTurn:
    """The turn of a CX ``WebhookRequest``."""
    request = _parse(dialogflowcx_v3.WebhookRequest, body)
    data: dict[str, Any] = without_nul(json_format.MessageToDict(dialogflowcx_v3.WebhookRequest.pb(request)))
    session = (data.get("sessionInfo") or {}).get("session")
    if not session:
        raise InvalidInput("the WebhookRequest has no sessionInfo.session")
    intent = data.get("intentInfo") or {}
    result = {
        "responseMessages": data.get("messages") or [],
        "intent": {"displayName": intent.get("displayName", "")},
        "parameters": (data.get("sessionInfo") or {}).get("parameters") or {},
    }
    return FulfillmentTurn(
        session=str(session),
        language=str(data.get("languageCode") or ""),
        text=str(data.get("text") or data.get("transcript") or ""),
        turn=turn_from_cx_query_result(result),
    )


def answer_cx(answer: FulfillmentAnswer) -> str:
    """A CX ``WebhookResponse`` that appends our messages to the route's own."""
    messages = [
        dialogflowcx_v3.ResponseMessage(text=dialogflowcx_v3.ResponseMessage.Text(text=[text]))
        for text in answer.texts
    ]
    if answer.stream is not None:
        messages.append(dialogflowcx_v3.ResponseMessage(payload={PAYLOAD_KEY: dict(answer.stream)}))
    response = dialogflowcx_v3.WebhookResponse(
        fulfillment_response=dialogflowcx_v3.WebhookResponse.FulfillmentResponse(
            messages=messages,
            merge_behavior=dialogflowcx_v3.WebhookResponse.FulfillmentResponse.MergeBehavior.APPEND,
        ),
        session_info=dialogflowcx_v3.SessionInfo(
            parameters={AGENT_PARAMETER: True if answer.with_agent else None}
        ),
    )
    return str(dialogflowcx_v3.WebhookResponse.to_json(response, **_CLEAN_JSON))


def _agent_context(session: str, active: bool) -> Context:
    """Lifespan 0 deletes the context: that is how the session leaves the agent's catch-all intent."""
    return Context(
        name=f"{session}/contexts/{AGENT_CONTEXT}", lifespan_count=AGENT_CONTEXT_LIFESPAN if active else 0
    )


def _was_with_agent(result: Mapping[str, Any]) -> bool:
    contexts = result.get("outputContexts") or ()
    return any(str(c.get("name", "")).endswith(f"/{AGENT_CONTEXT}") for c in contexts)


def _parse(message_type: Any, body: bytes) -> Any:
    try:
        return message_type.from_json(body.decode("utf-8"), ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"not a Dialogflow WebhookRequest: {_short(exc)}") from exc


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
