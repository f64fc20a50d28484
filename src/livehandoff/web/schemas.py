"""Request and response bodies of the customer API (the OpenAPI document is generated from these)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
NOT_BLANK = r"\S"
"""Some character that is not white space, as Python's ``re`` (and ``str.strip``) count it: the schema shows
this pattern, and the validator applies it with ``re`` rather than pydantic's regex engine, whose white
space leaves out controls such as U+001C that Python strips."""


class CustomerIn(BaseModel):
    """What the customer tells about themselves; shown to the agent."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    email: Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)] | None = None


class CreateConversation(BaseModel):
    """Body of ``POST /v1/conversations``; every field is optional."""

    model_config = ConfigDict(extra="forbid")
    language: Annotated[str, Field(pattern=LANGUAGE_PATTERN)] | None = None
    customer: CustomerIn | None = None
    page_url: Annotated[str, Field(max_length=2048, pattern=r"^https?://")] | None = None


class ConversationCreated(BaseModel):
    id: str
    token: str = Field(description="Bearer token for this conversation only. Shown once.")


class PostMessage(BaseModel):
    """Body of ``POST /v1/conversations/{id}/messages``."""

    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, Field(min_length=1, max_length=16000, json_schema_extra={"pattern": NOT_BLANK})]

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
    """A conversation's state and its transcript (message events)."""

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
