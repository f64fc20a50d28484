"""What the emulator starts with: organizations, groups, agents and OAuth apps.

A seed file is JSON of this shape (every field but the marked ones may be left out)::

    {"organizations": [{
        "id": "<uuid>",                      # default: random UUID
        "license_id": 12345678,              # default: random 8-digit number
        "groups": [{"id": 0, "name": "General", "language_code": "en"}],
        "agents": [{                         # at least one
            "id": "anna@example.com",        # required, an e-mail address
            "name": "Anna",                  # required
            "account_id": "<uuid>",          # username of PAT Basic auth; default: random UUID
            "pat": "dal:...",                # default: random
            "pat_scopes": ["chats--all:rw", ...],
            "routing_status": "accepting_chats",   # or not_accepting_chats, offline
            "groups": [0], "max_chats_count": 6, "job_title": "Support Agent", "avatar": null}],
        "apps": [{                           # at least one
            "client_id": "<32 hex>",         # default: random
            "client_secret": "...",          # default: random
            "name": "livehandoff", "redirect_uris": [],
            "refresh_tokens": [{"token": "...", "agent_id": "anna@example.com",
                                "scopes": ["customers:own", ...]}]}]
    }]}

Group 0 ("General", every agent) is added when a seed leaves it out. The first organization's
first agent and first app are what :class:`Credentials` describes.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from livehandoff.emulators.livechat.ids import new_access_token, new_hex, new_opaque, new_uuid

RoutingStatus = Literal["accepting_chats", "not_accepting_chats", "offline"]

DEFAULT_APP_SCOPES: tuple[str, ...] = (
    "customers:own",
    "chats--all:rw",
    "customers:rw",
    "webhooks.configuration:rw",
    "webhooks.state:rw",
    "groups--all:ro",
)
"""Scopes of the seeded refresh token: what the bridge needs (reference §10.1)."""

DEFAULT_PAT_SCOPES: tuple[str, ...] = (
    "chats--all:rw",
    "customers:rw",
    "agents--all:rw",
    "agents-bot--all:rw",
    "groups--all:rw",
    "webhooks.configuration:rw",
    "webhooks.state:rw",
)
"""A PAT acts with its creator's permissions; the seeded one can do everything an agent does."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_CLIENT_ID = re.compile(r"^[0-9a-f]{32}$")


def _matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"must be {what}, got {value!r}")
        return value

    return AfterValidator(check)


Email = Annotated[str, _matching(_EMAIL, "an e-mail address (agent ids are e-mails)")]
Uuid = Annotated[str, _matching(_UUID, "a lower-case UUID")]
ClientId = Annotated[str, _matching(_CLIENT_ID, "32 lower-case hex digits")]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeedGroup(_Frozen):
    """A group of agents; chats are routed to a group."""

    id: int = Field(ge=0)
    name: str = Field(min_length=1)
    language_code: str = "en"


class SeedAgent(_Frozen):
    """A human agent with a Personal Access Token."""

    id: Email
    name: str = Field(min_length=1)
    account_id: str = Field(default_factory=new_uuid, min_length=1)
    pat: str = Field(default_factory=new_access_token, min_length=8)
    pat_scopes: tuple[str, ...] = DEFAULT_PAT_SCOPES
    routing_status: RoutingStatus = "accepting_chats"
    groups: tuple[int, ...] = (0,)
    max_chats_count: int = Field(default=6, ge=1, le=500)
    job_title: str = "Support Agent"
    avatar: str | None = None


class SeedRefreshToken(_Frozen):
    """A refresh token an agent granted to an app (the result of a past authorization)."""

    token: str = Field(min_length=8)
    agent_id: Email
    scopes: tuple[str, ...] = DEFAULT_APP_SCOPES


class SeedApp(_Frozen):
    """An OAuth client from the Developer Console."""

    client_id: ClientId = Field(default_factory=new_hex)
    client_secret: str = Field(default_factory=new_opaque, min_length=8)
    name: str = "livehandoff"
    redirect_uris: tuple[str, ...] = ()
    refresh_tokens: tuple[SeedRefreshToken, ...] = ()


class SeedOrganization(_Frozen):
    """One LiveChat organization (license) with its people and apps."""

    id: Uuid = Field(default_factory=new_uuid)
    license_id: int = Field(default_factory=lambda: 10_000_000 + int(new_hex(8), 16) % 89_999_999, ge=1)
    groups: tuple[SeedGroup, ...] = Field(default_factory=lambda: (SeedGroup(id=0, name="General"),))
    agents: tuple[SeedAgent, ...] = Field(min_length=1)
    apps: tuple[SeedApp, ...] = Field(min_length=1)

    @field_validator("groups", mode="before")
    @classmethod
    def _with_default_group(cls, value: Any) -> Any:
        """Group 0 always exists in LiveChat; add it when the seed leaves it out."""
        if isinstance(value, list | tuple):
            has_zero = any(
                isinstance(group, Mapping | SeedGroup) and _group_id(group) == 0 for group in value
            )
            return value if has_zero else [{"id": 0, "name": "General"}, *value]
        return value

    @model_validator(mode="after")
    def _check_references(self) -> Self:
        group_ids = [group.id for group in self.groups]
        _require_unique("group id", group_ids)
        agent_ids = {agent.id for agent in self.agents}
        for agent in self.agents:
            unknown = sorted(set(agent.groups) - set(group_ids))
            if unknown:
                raise ValueError(f"agent {agent.id} is in unknown group(s) {unknown}")
        for app in self.apps:
            for refresh in app.refresh_tokens:
                if refresh.agent_id not in agent_ids:
                    raise ValueError(
                        f"refresh token of app {app.client_id} names unknown agent {refresh.agent_id}"
                    )
        return self


class Seed(_Frozen):
    """A validated seed; build one with :func:`load_seed`, :func:`parse_seed` or :func:`default_seed`."""

    organizations: tuple[SeedOrganization, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_unique(self) -> Self:
        orgs = self.organizations
        agents = [agent for org in orgs for agent in org.agents]
        apps = [app for org in orgs for app in org.apps]
        _require_unique("organization id", (org.id for org in orgs))
        _require_unique("license id", (org.license_id for org in orgs))
        _require_unique("agent id", (agent.id for agent in agents))
        _require_unique("agent account_id", (agent.account_id for agent in agents))
        _require_unique("agent pat", (agent.pat for agent in agents))
        _require_unique("app client_id", (app.client_id for app in apps))
        _require_unique("refresh token", (refresh.token for app in apps for refresh in app.refresh_tokens))
        return self


def _group_id(group: Mapping[str, Any] | SeedGroup) -> Any:
    return group.id if isinstance(group, SeedGroup) else group.get("id")


def _require_unique(what: str, values: Iterable[object]) -> None:
    duplicates = sorted(str(value) for value, count in Counter(values).items() if count > 1)
    if duplicates:
        raise ValueError(f"duplicate {what}: {', '.join(duplicates)}")


def default_seed() -> Seed:
    """The fixed world of tests and ``make demo``: fixed ids so a demo config can name them."""
    return Seed(
        organizations=(
            SeedOrganization(
                id="3f8e4a5c-9b1d-4c2e-8f7a-6d5b4c3a2e1f",
                license_id=12345678,
                groups=(SeedGroup(id=0, name="General"),),
                agents=(
                    SeedAgent(
                        id="anna@example.com",
                        name="Anna",
                        account_id="0f2d9c1e-7b3a-4e5d-9c8b-1a2b3c4d5e6f",
                        pat="dal:emulator-pat-anna-5kQ2xW8rT1",
                    ),
                ),
                apps=(
                    SeedApp(
                        client_id="5a1b8c0d2e3f4a5b6c7d8e9f0a1b2c3d",
                        client_secret="emulator-client-secret-7Hq3Lm9Zp2",  # noqa: S106 (emulator only)
                        refresh_tokens=(
                            SeedRefreshToken(
                                token="emulator-refresh-token-anna-Xv4Nc8",  # noqa: S106 (emulator only)
                                agent_id="anna@example.com",
                            ),
                        ),
                    ),
                ),
            ),
        )
    )


def parse_seed(data: object, *, source: str = "seed") -> Seed:
    """Validate already-decoded JSON; ``ValueError`` names every problem with its JSON path."""
    if not isinstance(data, dict):
        raise ValueError(f'{source}: invalid seed: the top level must be an object with "organizations"')
    try:
        return Seed.model_validate(data)
    except ValidationError as exc:
        errors = [(".".join(str(part) for part in e["loc"]), str(e["msg"])) for e in exc.errors()]
        problems = "; ".join(
            f"{where or 'seed'}: {_plain(msg)}" for where, msg in errors if _root_cause(where, errors)
        )
        raise ValueError(f"{source}: invalid seed: {problems}") from exc


def _plain(message: str) -> str:
    return (
        message.removeprefix("Value error, ")
        .replace(" after validation", "")
        .replace("Tuple should", "should")
    )


def _root_cause(where: str, errors: list[tuple[str, str]]) -> bool:
    """Pydantic also flags a list as too short when one of its items failed; keep the item's error."""
    return not any(other.startswith(f"{where}.") for other, _ in errors)


def load_seed(path: str | Path) -> Seed:
    """Read and validate a seed file; any problem (missing file, bad JSON, bad shape) is a ``ValueError``."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{file}: cannot read seed file: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file}: seed is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    return parse_seed(data, source=str(file))
