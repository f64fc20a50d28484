"""The in-memory world of the emulator: people, apps, tokens, chats, threads, events, webhooks.

Plain mutable dataclasses; every change goes through :mod:`.chats` / :mod:`.routing` (chat life)
or :mod:`.state` (identities and tokens). Nothing here does I/O. All handlers run on one event
loop and never await while changing these objects, so no locks are needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from livehandoff.emulators.livechat.seed import RoutingStatus

UserType = Literal["agent", "customer"]
Visibility = Literal["all", "agents"]


@dataclass(slots=True)
class Group:
    """A group of agents; ``0`` is the default group every agent belongs to."""

    id: int
    name: str
    language_code: str


@dataclass(slots=True)
class Agent:
    """A human agent: an e-mail id, an Account ID for PAT Basic auth, a routing status."""

    id: str
    name: str
    organization_id: str
    account_id: str
    pat: str
    pat_scopes: frozenset[str]
    routing_status: RoutingStatus
    groups: tuple[int, ...]
    max_chats_count: int
    job_title: str
    avatar: str | None

    def serves(self, group_id: int) -> bool:
        """Group 0 means "all agents" (reference §6.4)."""
        return group_id == 0 or group_id in self.groups


@dataclass(slots=True)
class App:
    """An OAuth client of the Developer Console."""

    client_id: str
    client_secret: str
    name: str
    organization_id: str
    redirect_uris: tuple[str, ...]


@dataclass(slots=True)
class AgentToken:
    """An OAuth access token (``dal:...``) issued to an app for an agent."""

    token: str
    agent_id: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass(slots=True)
class RefreshToken:
    """Long-lived grant of an agent to an app; refreshing does not rotate it."""

    token: str
    agent_id: str
    client_id: str
    scopes: frozenset[str]


@dataclass(slots=True)
class AuthorizationCode:
    """Single-use code of the authorization code grant."""

    code: str
    agent_id: str
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    expires_at: float
    code_challenge: str = ""
    """PKCE (S256): redeeming then needs the ``code_verifier`` it was made from."""


@dataclass(slots=True)
class CustomerToken:
    """A customer access token from the agent_token grant; remembers the app that asked for it."""

    token: str
    customer_id: str
    organization_id: str
    client_id: str
    expires_at: float


@dataclass(slots=True)
class Customer:
    """A customer identity (UUID); one chat at most per organization."""

    id: str
    organization_id: str
    created_at: float
    name: str | None = None
    email: str | None = None
    avatar: str | None = None
    phone_number: str | None = None
    session_fields: list[dict[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class ChatUser:
    """Membership of a user in a chat; agents stop being ``present`` when the thread closes."""

    id: str
    type: UserType
    present: bool = True
    visibility: Visibility = "all"
    events_seen_up_to: float | None = None


@dataclass(slots=True)
class Event:
    """One event; ``fields`` holds the type-specific keys (``text``, ``system_message_type`` ...)."""

    id: str
    type: str
    created_at: float
    author_id: str | None
    author_type: UserType | None
    visibility: Visibility
    fields: dict[str, Any]


@dataclass(slots=True)
class Thread:
    """A thread; only the last thread of a chat can be active."""

    id: str
    created_at: float
    access_group_ids: list[int]
    active: bool = True
    user_ids: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    queued_at: float | None = None
    queue_seq: int = 0
    queues_duration: float = 0.0
    previous_thread_id: str | None = None
    next_thread_id: str | None = None

    @property
    def queued(self) -> bool:
        """Waiting for an agent."""
        return self.active and self.queued_at is not None


@dataclass(slots=True)
class Chat:
    """A long-lived conversation of one customer, split into threads."""

    id: str
    organization_id: str
    customer_id: str
    group_ids: list[int]
    users: dict[str, ChatUser]
    properties: dict[str, Any]
    threads: list[Thread] = field(default_factory=list)

    @property
    def last_thread(self) -> Thread:
        """Chats always have a thread: they are created with one."""
        return self.threads[-1]

    @property
    def active(self) -> bool:
        """A chat is active when its last thread is."""
        return bool(self.threads) and self.last_thread.active

    @property
    def source_client_id(self) -> str | None:
        """``properties.source.client_id``: what the ``only_my_chats`` webhook filter compares."""
        source = self.properties.get("source", {})
        value = source.get("client_id") if isinstance(source, dict) else None
        return value if isinstance(value, str) else None

    def present_agent_ids(self) -> list[str]:
        """Agents currently taking part."""
        return [user.id for user in self.users.values() if user.type == "agent" and user.present]

    def thread(self, thread_id: str) -> Thread | None:
        """A thread of this chat by id."""
        return next((thread for thread in self.threads if thread.id == thread_id), None)


@dataclass(slots=True)
class Webhook:
    """A registered webhook (Configuration API ``register_webhook``)."""

    id: str
    organization_id: str
    owner_client_id: str
    action: str
    url: str
    secret_key: str
    type: Literal["license", "bot"]
    description: str
    filters: dict[str, Any]
    additional_data: tuple[str, ...]


@dataclass(slots=True)
class Organization:
    """One license: its groups, agents, apps, customers, chats and webhooks."""

    id: str
    license_id: int
    groups: dict[int, Group]
    agents: dict[str, Agent]
    apps: dict[str, App]
    customers: dict[str, Customer] = field(default_factory=dict)
    chats: dict[str, Chat] = field(default_factory=dict)
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    webhooks_disabled_for: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who caused a change: decides a webhook's ``source_type`` (my_client / other_clients / system)."""

    user_id: str | None
    user_type: UserType | Literal["system"]
    client_id: str | None = None


SYSTEM = Actor(user_id=None, user_type="system")
