"""Settings, read once from the environment and frozen.

This module is the only reader of ``os.environ``. Every setting has the ``LIVEHANDOFF_`` prefix except
``GOOGLE_APPLICATION_CREDENTIALS``, which keeps Google's own name. ``docs/configuration.md`` lists them.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from livehandoff.domain.handoff import HandoffPolicy

_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)[^&]*")


def without_password(url: str) -> str:
    """``url`` with any password (``user:password@`` or ``?password=``) replaced by ``***``."""
    scheme, separator, rest = url.partition("://")
    if separator:
        netloc, slash, path = rest.partition("/")
        userinfo, at, host = netloc.rpartition("@")
        if at and ":" in userinfo:
            url = f"{scheme}://{userinfo.partition(':')[0]}:***@{host}{slash}{path}"
    return _QUERY_PASSWORD.sub(r"\1***", url)


DEFAULT_HANDOFF_NAMES = (
    "handoff",
    "human.handoff",
    "live_agent",
    "live-agent",
    "support.live_agent",
    "agent.handoff",
    "talk_to_agent",
)


class Settings(BaseSettings):
    """Everything livehandoff can be told. Immutable once built."""

    model_config = SettingsConfigDict(
        env_prefix="LIVEHANDOFF_",
        frozen=True,
        extra="ignore",
        populate_by_name=True,
        # A validation error would otherwise quote what it was given, secrets included.
        hide_input_in_errors=True,
    )

    # --- the bridge itself
    database_url: str = "sqlite+aiosqlite:///./livehandoff.sqlite3"
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    default_language: str = "en"
    max_message_chars: int = Field(default=4096, ge=1, le=16000)
    http_timeout_seconds: float = Field(default=15.0, gt=0)
    allowed_origins: tuple[str, ...] = ()
    """Web origins allowed to call the customer API from a browser (CORS); ``*`` allows any."""
    max_body_bytes: int = Field(default=65536, ge=1024)
    """Largest request body of the customer API and the fulfillment webhooks; larger ones get a 413."""
    max_webhook_body_bytes: int = Field(default=1048576, ge=1024)
    """Largest LiveChat webhook body: ``incoming_chat`` deliveries carry whole threads."""
    rate_limit_per_client: int = Field(default=120, ge=0)
    """Customer API requests per minute from one client address (0: no limit)."""
    rate_limit_per_conversation: int = Field(default=30, ge=0)
    """Customer messages per minute into one conversation (0: no limit)."""
    metrics_token: SecretStr = SecretStr("")
    """Bearer token that opens ``GET /metrics``; empty: the endpoint is off (404)."""
    redis_url: str = ""
    """Redis for the rate limits shared by several instances (``redis://host:6379/0``); empty: per process."""

    # --- Dialogflow
    dialogflow_edition: Literal["es", "cx"] = "es"
    dialogflow_api_endpoint: str = "https://dialogflow.googleapis.com"
    dialogflow_project_id: str = "livehandoff-demo"
    dialogflow_location: str = ""
    dialogflow_agent_id: str = ""
    """CX only: the agent's id (CX agents always live in a location; ``global`` when unset)."""
    dialogflow_environment: str = ""
    google_application_credentials: str = Field(
        default="",
        validation_alias=AliasChoices(
            "GOOGLE_APPLICATION_CREDENTIALS", "LIVEHANDOFF_GOOGLE_APPLICATION_CREDENTIALS"
        ),
    )
    handoff_names: tuple[str, ...] = DEFAULT_HANDOFF_NAMES
    handoff_after_fallbacks: int = Field(default=0, ge=0)
    handoff_on_bot_error: Literal["apologise", "handoff"] = "apologise"
    handoff_guard_seconds: float = Field(default=60.0, ge=0)
    handoff_groups: dict[str, int] = Field(default_factory=dict)
    """A LiveChat group id per trigger (``live_agent_handoff``, ``payload``, ``intent_name``, ``fallbacks``,
    ``bot_error``)."""
    handoff_when_offline: Literal["stay_with_bot", "leave_message", "ask_email"] = "stay_with_bot"
    handoff_max_wait_seconds: float = Field(default=0.0, ge=0)
    queue_refresh_seconds: float = Field(default=10.0, gt=0)
    bot_return_event: str = "LIVEHANDOFF_ENDED"
    bot_session_ttl_seconds: float = Field(default=1200.0, gt=0)

    # --- fulfillment webhooks (Dialogflow calls us)
    dialogflow_webhook_username: str = ""
    dialogflow_webhook_password: SecretStr = SecretStr("")
    dialogflow_webhook_header: str = "x-livehandoff-token"
    dialogflow_webhook_token: SecretStr = SecretStr("")

    # --- LiveChat
    livechat_api_url: str = "https://api.livechatinc.com"
    livechat_accounts_url: str = "https://accounts.livechat.com"
    livechat_client_id: str = ""
    livechat_client_secret: SecretStr = SecretStr("")
    livechat_refresh_token: SecretStr = SecretStr("")
    livechat_organization_id: str = ""
    livechat_license_id: str = ""
    livechat_group_id: int = Field(default=0, ge=0)
    livechat_group_names: dict[str, int] = Field(default_factory=dict)
    """Group names a bot may use in handoff payloads or CX metadata, mapped to LiveChat group ids."""
    livechat_webhook_secret: SecretStr = SecretStr("")
    livechat_register_webhooks: bool = True

    @field_validator("handoff_names", "allowed_origins", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        """Accept a comma-separated string from the environment."""
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("public_url", "livechat_api_url", "livechat_accounts_url", "dialogflow_api_endpoint")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _cx_needs_an_agent(self) -> Settings:
        if self.dialogflow_edition == "cx" and not self.dialogflow_agent_id:
            raise ValueError(
                "LIVEHANDOFF_DIALOGFLOW_AGENT_ID is required when LIVEHANDOFF_DIALOGFLOW_EDITION is cx"
            )
        return self

    def handoff_policy(self) -> HandoffPolicy:
        """The handoff rules these settings describe."""
        return HandoffPolicy(
            names=self.handoff_names,
            after_fallbacks=self.handoff_after_fallbacks,
            on_bot_error=self.handoff_on_bot_error,
            guard_seconds=self.handoff_guard_seconds,
            groups=self.handoff_groups,
            group_names=self.livechat_group_names,
            bot_return_event=self.bot_return_event,
            bot_session_ttl_seconds=self.bot_session_ttl_seconds,
            when_offline=self.handoff_when_offline,
            max_wait_seconds=self.handoff_max_wait_seconds,
        )

    def redacted(self) -> dict[str, Any]:
        """A view safe to print: secrets replaced by ``**********`` (or empty when unset)."""
        view: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                view[name] = "**********" if value.get_secret_value() else ""
            elif name == "database_url":
                view[name] = without_password(value)
            elif isinstance(value, tuple):
                view[name] = list(value)
            else:
                view[name] = value
        return view
