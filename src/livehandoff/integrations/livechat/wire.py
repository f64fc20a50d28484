"""LiveChat's wire shapes: what we send (TypedDicts) and what we read (pydantic models).

Nothing here leaves the package: ``translate`` turns these into domain values and back. Every model
ignores unknown fields, because LiveChat adds fields between API versions and the agent-side and
customer-side views of the same object differ (reference §6). Tokens are excluded from ``repr`` so a
model in a traceback or a log line never shows one. Every string read loses its NUL characters (U+0000)
here, whether it comes from a webhook or from a thread we read: PostgreSQL cannot store NUL in text, and
the same rule holds on SQLite (docs/api.md).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

NUL = "\x00"


def without_nul(value: object) -> object:
    """``value`` without NUL characters if it is a string or a list of strings; anything else as it is."""
    if isinstance(value, str):
        return value.replace(NUL, "")
    if isinstance(value, list):
        return [item.replace(NUL, "") if isinstance(item, str) else item for item in value]
    return value


class _Wire(BaseModel):
    # Validation errors end up chained to our errors, and a traceback would otherwise quote the token
    # or webhook secret of the body that failed.
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_nul(cls, data: Any) -> Any:
        """Each model cleans its own fields; nested models clean theirs as they are validated, and a
        ``dict[str, Any]`` (a webhook's ``payload``) is cleaned when ``translate`` validates it."""
        if isinstance(data, dict):
            return {key: without_nul(value) for key, value in data.items()}
        return data


# --- Accounts API (§1) ---------------------------------------------------------------------------


class AgentTokenResponse(_Wire):
    """``POST /v2/token`` with ``grant_type=refresh_token``."""

    access_token: str = Field(min_length=1, repr=False)
    expires_in: int = Field(gt=0)
    refresh_token: str | None = Field(default=None, repr=False)
    """LiveChat may rotate the refresh token; the newest one must be kept."""
    organization_id: str | None = None


class CustomerTokenResponse(_Wire):
    """``POST /v2/customer/token`` with ``grant_type=agent_token``."""

    access_token: str = Field(min_length=1, repr=False)
    entity_id: str = Field(min_length=1)
    expires_in: int = Field(gt=0)
    organization_id: str | None = None


class OrganizationIdResponse(_Wire):
    """``GET /v3.4/configuration/action/get_organization_id``."""

    organization_id: str = Field(min_length=1)


class AccountsError(_Wire):
    """The accounts service's error body (not the chat APIs' ``{"error": ...}``)."""

    oauth_exception: str
    exception_description: str = ""


class ApiErrorDetail(_Wire):
    type: str
    message: str = ""


class ApiError(_Wire):
    """The chat and configuration APIs' error body (§8)."""

    error: ApiErrorDetail


# --- Customer Chat API responses (§3) -----------------------------------------------------------


class Empty(_Wire):
    """A ``200`` with no payload worth reading (``update_customer``, ``unregister_webhook``)."""


class StartChatResponse(_Wire):
    chat_id: str
    thread_id: str
    event_ids: list[str] = []


class ResumeChatResponse(_Wire):
    thread_id: str
    event_ids: list[str] = []


class SendEventResponse(_Wire):
    event_id: str


class User(_Wire):
    """A chat user; the customer-side view has no e-mail for agents."""

    id: str
    type: str
    name: str | None = None
    present: bool | None = None
    visibility: str | None = None


class ThreadEvent(_Wire):
    """An event of a thread as ``get_chat`` shows it; only what idempotent sending needs."""

    id: str
    type: str
    custom_id: str | None = None
    author_id: str | None = None
    text: str | None = None
    created_at: AwareDatetime | None = None


class Queue(_Wire):
    """Where a waiting thread stands (``thread.queue``, present only while queued)."""

    position: int | None = None
    wait_time: int | None = None


class Thread(_Wire):
    id: str
    active: bool = False
    events: list[ThreadEvent] = []
    queue: Queue | None = None


class Access(_Wire):
    group_ids: list[int] = []


class Chat(_Wire):
    """``get_chat``: the chat with its latest thread."""

    id: str
    users: list[User] = []
    thread: Thread | None = None


class ChatSummary(_Wire):
    id: str
    last_thread_id: str | None = None
    active: bool = False
    access: Access | None = None


class ListChatsResponse(_Wire):
    chats_summary: list[ChatSummary] = []


# --- Configuration API (§2) ----------------------------------------------------------------------


class WebhookInfo(_Wire):
    """One entry of ``list_webhooks``."""

    id: str
    url: str
    action: str
    type: str | None = None
    secret_key: str | None = Field(default=None, repr=False)


class RegisterWebhookResponse(_Wire):
    id: str


# --- Webhooks (§5) -------------------------------------------------------------------------------


class WebhookEnvelope(_Wire):
    """What LiveChat POSTs to a registered webhook URL."""

    webhook_id: str
    secret_key: str = Field(repr=False)
    action: str
    organization_id: str
    payload: dict[str, Any]
    additional_data: dict[str, Any] | None = None


class Event(_Wire):
    """An event as webhooks show it (agent-side view, with ``visibility``).

    Only ``id`` and ``type`` are common to every event type; what a ``message`` needs is checked
    where it is translated.
    """

    id: str
    type: str
    created_at: AwareDatetime | None = None
    author_id: str | None = None
    text: str | None = None
    visibility: str | None = None
    recipients: str | None = None


class IncomingEventPayload(_Wire):
    chat_id: str
    thread_id: str
    event: Event


class UserAddedToChatPayload(_Wire):
    chat_id: str
    thread_id: str | None = None
    user: User


class ChatDeactivatedPayload(_Wire):
    chat_id: str
    thread_id: str
    user_id: str | None = None


# --- request bodies ------------------------------------------------------------------------------


class MessageEvent(TypedDict):
    type: Literal["message"]
    text: str
    custom_id: NotRequired[str]


class AccessBody(TypedDict):
    group_ids: list[int]


class ThreadBody(TypedDict):
    events: list[MessageEvent]


class ChatBody(TypedDict):
    id: NotRequired[str]
    access: NotRequired[AccessBody]
    thread: NotRequired[ThreadBody]


class StartChatRequest(TypedDict):
    chat: ChatBody
    continuous: NotRequired[bool]


class ResumeChatRequest(TypedDict):
    chat: ChatBody
    continuous: NotRequired[bool]


class DeactivateChatRequest(TypedDict):
    id: str


class UpdateCustomerRequest(TypedDict):
    name: NotRequired[str]
    email: NotRequired[str]
    session_fields: NotRequired[list[dict[str, str]]]


class SendEventRequest(TypedDict):
    chat_id: str
    event: MessageEvent


class GetChatRequest(TypedDict):
    chat_id: str


class ListChatsRequest(TypedDict):
    limit: int


class ListWebhooksRequest(TypedDict):
    owner_client_id: str


class RegisterWebhookRequest(TypedDict):
    action: str
    secret_key: str
    url: str
    type: Literal["license", "bot"]
    owner_client_id: str
    description: str
    filters: dict[str, Any]


class UnregisterWebhookRequest(TypedDict):
    id: str
    owner_client_id: str
