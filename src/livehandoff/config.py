"""Settings, read once from the environment and frozen.

This module is the only reader of ``os.environ``. Every setting has the ``LIVEHANDOFF_`` prefix except
``GOOGLE_APPLICATION_CREDENTIALS``, which keeps Google's own name. ``docs/configuration.md`` lists them.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from livehandoff.domain.handoff import HandoffPolicy, Trigger

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


TRIGGERS: tuple[str, ...] = get_args(Trigger)
"""The handoff triggers ``LIVEHANDOFF_HANDOFF_GROUPS`` may name."""
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")


def split_list(text: str) -> Any:
    """A list setting from its environment variable: a JSON array, or items separated by commas.

    pydantic-settings would read a list only as JSON (``NoDecode`` below turns that off), while people
    write ``LIVEHANDOFF_ALLOWED_ORIGINS=https://shop.example.com``; both forms are accepted.
    """
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            return json.loads(stripped)
        except ValueError:
            raise ValueError("is neither a JSON array nor a comma-separated list") from None
    return tuple(item.strip() for item in stripped.split(",") if item.strip())


def split_mapping(text: str) -> Any:
    """A name → group id setting from its environment variable: a JSON object, or ``name=id,name=id``.

    Error messages never quote the value: a person may have pasted something secret into the wrong
    variable.
    """
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            return json.loads(stripped)
        except ValueError:
            raise ValueError("is neither a JSON object nor name=id pairs separated by commas") from None
    pairs: dict[str, str] = {}
    for item in stripped.split(","):
        if not item.strip():
            continue
        name, equals, group = item.partition("=")
        if not equals or not name.strip():
            raise ValueError("takes name=id pairs separated by commas (such as fallbacks=2) or a JSON object")
        pairs[name.strip()] = group.strip()
    return pairs


Names = Annotated[tuple[str, ...], NoDecode]
"""A list setting: comma-separated or a JSON array (``split_list``)."""
GroupIds = Annotated[dict[str, Annotated[int, Field(ge=0)]], NoDecode]
"""Names mapped to LiveChat group ids: ``name=id,name=id`` or a JSON object (``split_mapping``)."""


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
    log_format: Literal["console", "json"] = "console"
    """``console``: one readable line per event; ``json``: one JSON object per line, for a log collector."""
    default_language: str = "en"
    max_message_chars: int = Field(default=4096, ge=1, le=16000)
    http_timeout_seconds: float = Field(default=15.0, gt=0)
    allowed_origins: Names = ()
    """Web origins allowed to call the customer API from a browser (CORS); ``*`` allows any."""
    trusted_proxies: Names = ()
    """Addresses or networks of the reverse proxies whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are
    believed; empty: none are, and the connection's peer is the client (rate limits count per client)."""
    demo_page: bool = False
    """Serve the demo's shop page at ``/demo``: ``livehandoff demo`` turns it on; a deployment has its own."""
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
    handoff_names: Names = DEFAULT_HANDOFF_NAMES
    handoff_after_fallbacks: int = Field(default=0, ge=0)
    handoff_on_bot_error: Literal["apologise", "handoff"] = "apologise"
    handoff_guard_seconds: float = Field(default=60.0, ge=0)
    handoff_groups: GroupIds = Field(default_factory=dict)
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
    livechat_group_names: GroupIds = Field(default_factory=dict)
    """Group names a bot may use in handoff payloads or CX metadata, mapped to LiveChat group ids."""
    livechat_webhook_secret: SecretStr = SecretStr("")
    livechat_register_webhooks: bool = True

    @field_validator("handoff_names", "allowed_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        return split_list(value) if isinstance(value, str) else value

    @field_validator("handoff_groups", "livechat_group_names", mode="before")
    @classmethod
    def _split_groups(cls, value: Any) -> Any:
        return split_mapping(value) if isinstance(value, str) else value

    @field_validator("public_url", "livechat_api_url", "livechat_accounts_url", "dialogflow_api_endpoint")
    @classmethod
    def _http_url(cls, value: str) -> str:
        url = value.strip().rstrip("/")
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 (it raises for a port that is not a number)
        except ValueError:
            raise ValueError("has a port that is not a number") from None
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be an http:// or https:// URL such as https://livehandoff.example.com")
        return url

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("default_language")
    @classmethod
    def _language_tag(cls, value: str) -> str:
        if not _LANGUAGE_TAG.fullmatch(value):
            raise ValueError("must be a language tag such as en or pt-BR")
        return value

    @field_validator("handoff_groups")
    @classmethod
    def _known_triggers(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(TRIGGERS))
        if unknown:
            raise ValueError(f"names no trigger {', '.join(unknown)}; the triggers are {', '.join(TRIGGERS)}")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if entry == "*":
                raise ValueError("'*' would let every client choose its own address: name the proxies")
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (such as 10.0.0.0/8)") from None
        return value

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
