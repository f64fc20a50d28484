"""Request and response bodies of the customer API (the OpenAPI document is generated from these)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, field_validator

from livehandoff.domain.feed import PAYLOADS, FeedKind

LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
EMAIL_PATTERN = r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"
PAGE_URL_PATTERN = r"^https?://[^\x00]*$"
NO_NUL = r"^[^\x00]*$"
NOT_BLANK = r"\S"
"""Some character that is not white space, as Python's ``re`` (and ``str.strip``) count it: the validator
applies it with ``re`` rather than pydantic's regex engine, whose white space leaves out controls such as
U+001C that Python strips."""
TEXT_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
"""What the schema shows for a message's text: no NUL, and not blank (``NOT_BLANK``). Only documented: the
validators check the same with ``in`` and ``re.search``, which cannot backtrack over a long text."""


def _refuse_nul(value: object) -> object:
    """No text field takes U+0000: PostgreSQL cannot store it in text, so SQLite must not either (one rule
    for both databases, docs/api.md). Checked before the field's own pattern, to say what is wrong."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain the NUL character (U+0000)")
    return value


NoNul = BeforeValidator(_refuse_nul)


class CustomerIn(BaseModel):
    """What the customer tells about themselves; shown to the agent."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL), NoNul] | None = None
    email: Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN), NoNul] | None = None


class CreateConversation(BaseModel):
    """Body of ``POST /v1/conversations``; every field is optional."""

    model_config = ConfigDict(extra="forbid")
    language: Annotated[str, Field(pattern=LANGUAGE_PATTERN), NoNul] | None = None
    customer: CustomerIn | None = None
    page_url: Annotated[str, Field(max_length=2048, pattern=PAGE_URL_PATTERN), NoNul] | None = None


class ConversationCreated(BaseModel):
    id: str
    token: str = Field(description="Bearer token for this conversation only. Shown once.")


class PostMessage(BaseModel):
    """Body of ``POST /v1/conversations/{id}/messages``."""

    model_config = ConfigDict(extra="forbid")
    text: Annotated[
        str, Field(min_length=1, max_length=16000, json_schema_extra={"pattern": TEXT_PATTERN}), NoNul
    ]

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not re.search(NOT_BLANK, value):
            raise ValueError("text must not be blank")
        return value


def _json_integer(value: object) -> object:
    """JSON Schema's integer: ``7`` and ``7.0``, but not ``true`` or ``"7"``, which pydantic would read as 1
    and 7."""
    if isinstance(value, bool | str):
        raise ValueError("must be an integer")
    return value


class Delivered(BaseModel):
    """Body of ``POST /v1/conversations/{id}/delivered``."""

    model_config = ConfigDict(extra="forbid")
    seq: Annotated[
        int, Field(ge=0, description="The last event the customer was shown"), BeforeValidator(_json_integer)
    ]


class MessageAccepted(BaseModel):
    id: str


class ConversationState(BaseModel):
    id: str
    state: str


class AgentOut(BaseModel):
    name: str | None


class ConversationOut(BaseModel):
    """A conversation's state and its transcript: every ``message`` event of its feed, in order."""

    id: str
    state: str
    language: str
    agent: AgentOut | None
    last_seq: int
    transcript: list[dict[str, Any]]


class ErrorDetail(BaseModel):
    location: str
    problem: str


class ErrorBody(BaseModel):
    type: str = Field(description="bad_request, unauthorized, not_found, too_large, validation, rate_limited")
    message: str
    details: list[ErrorDetail] | None = Field(default=None, description="validation: what is wrong where")
    retry_after: int | None = Field(default=None, description="rate_limited: seconds to wait")


class ErrorOut(BaseModel):
    error: ErrorBody


class Readiness(BaseModel):
    """``GET /readyz`` when every check passed."""

    status: Literal["ready"]
    checks: dict[str, str] = Field(description="Each check (`database`, `livechat`) and what it found: `ok`")


# --- webhooks: documented here, read by the integrations from the raw body -------------------------


class LiveChatWebhook(BaseModel):
    """A LiveChat webhook delivery: the v3.6 envelope (reference §5.1)."""

    webhook_id: str
    secret_key: str = Field(
        description="The secret the webhook was registered with (LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET)"
    )
    action: str = Field(
        description="`incoming_event`, `user_added_to_chat`, `chat_deactivated` are applied, others ignored"
    )
    organization_id: str = Field(description="Must be LIVEHANDOFF_LIVECHAT_ORGANIZATION_ID when that is set")
    payload: dict[str, Any] = Field(description="The action's payload, as LiveChat documents it")
    additional_data: dict[str, Any] | None = None


class WebhookAck(BaseModel):
    """A webhook was taken: ``processed`` when it changed a conversation, ``ignored`` when it was a
    duplicate, not about one of our chats, or an action the bridge does not use."""

    status: Literal["processed", "ignored"]


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """``openapi_extra`` for an operation that reads its JSON body itself: its ``requestBody``."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
    }


def dialogflow_message(name: str, reference: str) -> dict[str, Any]:
    """A Dialogflow message documented by Google, which the bridge reads and writes with Google's types."""
    return {"type": "object", "title": name, "description": f"Dialogflow's `{name}`: {reference}"}


# --- the customer's feed, documented from the domain's one definition per kind ---------------------


FEED_EVENT = "FeedEvent"
"""The components name of the union of every feed event kind."""


def feed_event_name(kind: FeedKind) -> str:
    """The components name of one kind's schema: ``MessageEvent`` for ``message``, ..."""
    return f"{PAYLOADS[kind].__name__}Event"


def feed_event_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas of the feed events, to add to ``/openapi.json``'s components.

    One schema per ``FeedKind``, generated from its ``domain.feed`` class with the fields every event has
    (``seq``, ``type``, ``created_at``), and ``FeedEvent``: the union of them, discriminated by ``type``.
    """
    schemas: dict[str, dict[str, Any]] = {}
    for kind, cls in PAYLOADS.items():
        generated = TypeAdapter(cls).json_schema(ref_template=_REF)
        schemas.update(generated.pop("$defs", {}))
        schemas[feed_event_name(kind)] = _with_envelope(kind, generated)
    refs = {kind.value: _REF.format(model=feed_event_name(kind)) for kind in PAYLOADS}
    schemas[FEED_EVENT] = {
        "title": FEED_EVENT,
        "description": "One event of a conversation's feed, as `GET /v1/conversations/{id}/events` sends it.",
        "oneOf": [{"$ref": ref} for ref in refs.values()],
        "discriminator": {"propertyName": "type", "mapping": refs},
    }
    return schemas


_REF = "#/components/schemas/{model}"


def _with_envelope(kind: FeedKind, schema: dict[str, Any]) -> dict[str, Any]:
    fields = {
        name: field if name in schema.get("required", ()) else _left_out_when_unset(field)
        for name, field in schema.get("properties", {}).items()
    }
    schema["title"] = feed_event_name(kind)
    schema["properties"] = {
        "seq": {"type": "integer", "minimum": 1, "description": "The event's place in the feed, from 1."},
        "type": {"type": "string", "const": kind.value, "enum": [kind.value]},
        **fields,
        "created_at": {"type": "string", "format": "date-time"},
    }
    schema["required"] = ["seq", "type", *schema.get("required", []), "created_at"]
    return schema


def _left_out_when_unset(field: dict[str, Any]) -> dict[str, Any]:
    """An optional field is absent from an event rather than null: document it without its null."""
    shown = {key: value for key, value in field.items() if key != "default"}
    options = [option for option in shown.pop("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        shown.update(options[0])
    elif options:
        shown["anyOf"] = options
    return shown
