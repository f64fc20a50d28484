"""The emulator's whole state: the seeded world plus identities, tokens and id allocation.

Everything lives in memory. Chat life (routing, events) is in :mod:`.chats` and :mod:`.routing`;
this module owns who exists and which tokens open what.

Fault injection (:mod:`.faults`: error rates, 429 with ``Retry-After``, latency, hangs, duplicated
or reordered webhooks) lives beside this state without touching it: every API request passes
through one dispatcher (:func:`.app.dispatch_action`), every webhook delivery follows a plan drawn
when the change happens (:class:`.webhooks.DeliveryPlan`), and time comes from the injected ``clock``.
"""

from __future__ import annotations

import base64
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from livehandoff.emulators.livechat.ids import (
    Clock,
    new_access_token,
    new_opaque,
    new_uuid,
    short_id,
)
from livehandoff.emulators.livechat.model import (
    Agent,
    AgentToken,
    App,
    AuthorizationCode,
    Customer,
    CustomerToken,
    Group,
    Organization,
    RefreshToken,
)
from livehandoff.emulators.livechat.seed import DEFAULT_APP_SCOPES, Seed, SeedOrganization

ACCESS_TOKEN_TTL = 28_800
"""Agent OAuth access tokens and customer tokens both live 8 hours (reference §1.1, §1.3)."""
CUSTOMER_TOKEN_TTL = 28_800
CODE_TTL = 600
MAX_ACCESS_TOKENS_PER_GRANT = 25
"""Per client per agent; the oldest is silently revoked beyond that (reference §1.3)."""


@dataclass(frozen=True)
class Credentials:
    """What a bridge needs to talk to the emulator: the first organization, agent and app.

    Not slotted, so ``vars(credentials)`` works as well as ``dataclasses.asdict``.
    """

    organization_id: str
    license_id: int
    agent_id: str
    agent_account_id: str
    agent_pat: str
    agent_name: str
    client_id: str
    client_secret: str
    refresh_token: str

    @property
    def pat_authorization(self) -> str:
        """``Authorization`` header value for the agent's PAT: ``Basic base64(account_id:pat)``."""
        raw = f"{self.agent_account_id}:{self.agent_pat}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


class EmulatorState:
    """Organizations with their people, plus every token issued so far."""

    def __init__(self, seed: Seed, *, clock: Clock = time.time) -> None:
        self.clock = clock
        self.organizations: dict[str, Organization] = {}
        self._agents: dict[str, Agent] = {}
        self._apps: dict[str, App] = {}
        self._agent_tokens: dict[str, AgentToken] = {}
        self._grants: dict[tuple[str, str], deque[str]] = {}
        self._refresh_tokens: dict[str, RefreshToken] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._customer_tokens: dict[str, CustomerToken] = {}
        self._taken_ids: set[str] = set()
        self._queue_seq = 0
        for seed_org in seed.organizations:
            self._load(seed_org)
        self.credentials = self._first_credentials(seed.organizations[0])

    # --- the seeded world

    def _load(self, seed_org: SeedOrganization) -> None:
        groups = {group.id: Group(group.id, group.name, group.language_code) for group in seed_org.groups}
        org = Organization(id=seed_org.id, license_id=seed_org.license_id, groups=groups, agents={}, apps={})
        for seed_agent in seed_org.agents:
            agent = Agent(
                id=seed_agent.id,
                name=seed_agent.name,
                organization_id=org.id,
                account_id=seed_agent.account_id,
                pat=seed_agent.pat,
                pat_scopes=frozenset(seed_agent.pat_scopes),
                routing_status=seed_agent.routing_status,
                groups=seed_agent.groups,
                max_chats_count=seed_agent.max_chats_count,
                job_title=seed_agent.job_title,
                avatar=seed_agent.avatar,
            )
            org.agents[agent.id] = agent
            self._agents[agent.id] = agent
        for seed_app in seed_org.apps:
            app = App(
                seed_app.client_id, seed_app.client_secret, seed_app.name, org.id, seed_app.redirect_uris
            )
            org.apps[app.client_id] = app
            self._apps[app.client_id] = app
            for refresh in seed_app.refresh_tokens:
                scopes = frozenset(refresh.scopes)
                self._refresh_tokens[refresh.token] = RefreshToken(
                    refresh.token, refresh.agent_id, app.client_id, scopes
                )
        self.organizations[org.id] = org

    def _first_credentials(self, seed_org: SeedOrganization) -> Credentials:
        agent, app = seed_org.agents[0], seed_org.apps[0]
        refresh = next(iter(app.refresh_tokens), None)
        token = (
            refresh.token
            if refresh
            else self.grant_refresh_token(agent.id, app.client_id, DEFAULT_APP_SCOPES).token
        )
        return Credentials(
            organization_id=seed_org.id,
            license_id=seed_org.license_id,
            agent_id=agent.id,
            agent_account_id=agent.account_id,
            agent_pat=agent.pat,
            agent_name=agent.name,
            client_id=app.client_id,
            client_secret=app.client_secret,
            refresh_token=token,
        )

    def now(self) -> float:
        """The injected clock."""
        return self.clock()

    def organization(self, organization_id: str) -> Organization | None:
        """An organization by UUID."""
        return self.organizations.get(organization_id)

    def organization_by_license(self, license_id: int) -> Organization | None:
        """An organization by its numeric license id."""
        return next((org for org in self.organizations.values() if org.license_id == license_id), None)

    def agent(self, agent_id: str) -> Agent | None:
        """An agent of any organization by e-mail id."""
        return self._agents.get(agent_id)

    def app(self, client_id: str) -> App | None:
        """An OAuth app by client id."""
        return self._apps.get(client_id)

    def agent_by_pat(self, account_id: str, pat: str) -> Agent | None:
        """The agent whose Account ID and PAT these are (PAT Basic auth)."""
        agent = next((a for a in self._agents.values() if a.account_id == account_id), None)
        return agent if agent is not None and agent.pat == pat else None

    # --- OAuth for agents

    def issue_code(
        self, agent_id: str, client_id: str, redirect_uri: str, *, code_challenge: str = ""
    ) -> AuthorizationCode:
        """What the accounts login page hands back to the redirect URI."""
        scopes = frozenset(DEFAULT_APP_SCOPES)
        code = AuthorizationCode(
            new_opaque(), agent_id, client_id, redirect_uri, scopes, self.now() + CODE_TTL, code_challenge
        )
        self._codes[code.code] = code
        return code

    def redeem_code(self, code: str) -> AuthorizationCode | None:
        """Codes are single-use and short-lived: redeeming removes it."""
        found = self._codes.pop(code, None)
        return found if found is not None and found.expires_at > self.now() else None

    def refresh_token(self, token: str) -> RefreshToken | None:
        """A refresh token by value."""
        return self._refresh_tokens.get(token)

    def grant_refresh_token(self, agent_id: str, client_id: str, scopes: Iterable[str]) -> RefreshToken:
        """The refresh token of an agent for an app, created on first authorization."""
        for refresh in self._refresh_tokens.values():
            if refresh.agent_id == agent_id and refresh.client_id == client_id:
                return refresh
        refresh = RefreshToken(new_opaque(), agent_id, client_id, frozenset(scopes))
        self._refresh_tokens[refresh.token] = refresh
        return refresh

    def issue_agent_token(self, agent_id: str, client_id: str, scopes: frozenset[str]) -> AgentToken:
        """A new ``dal:`` access token; past 25 per app and agent the oldest stops working."""
        token = AgentToken(new_access_token(), agent_id, client_id, scopes, self.now() + ACCESS_TOKEN_TTL)
        self._agent_tokens[token.token] = token
        issued = self._grants.setdefault((client_id, agent_id), deque())
        issued.append(token.token)
        while len(issued) > MAX_ACCESS_TOKENS_PER_GRANT:
            self._agent_tokens.pop(issued.popleft(), None)
        return token

    def agent_token(self, token: str) -> AgentToken | None:
        """A live (issued, not revoked, not expired) agent access token."""
        found = self._agent_tokens.get(token)
        return found if found is not None and found.expires_at > self.now() else None

    # --- customers

    def create_customer(self, org: Organization) -> Customer:
        """A new customer identity (agent_token grant without ``entity_id``)."""
        customer = Customer(id=new_uuid(), organization_id=org.id, created_at=self.now())
        org.customers[customer.id] = customer
        return customer

    def issue_customer_token(self, customer: Customer, client_id: str) -> CustomerToken:
        """A customer access token for the app that asked for it."""
        expires = self.now() + CUSTOMER_TOKEN_TTL
        token = CustomerToken(new_access_token(), customer.id, customer.organization_id, client_id, expires)
        self._customer_tokens[token.token] = token
        return token

    def customer_token(self, token: str) -> CustomerToken | None:
        """A live customer access token."""
        found = self._customer_tokens.get(token)
        return found if found is not None and found.expires_at > self.now() else None

    # --- ids and queue order

    def new_short_id(self) -> str:
        """A chat or thread id never handed out before."""
        while True:
            candidate = short_id()
            if candidate not in self._taken_ids:
                self._taken_ids.add(candidate)
                return candidate

    def next_queue_seq(self) -> int:
        """Queue order: first queued, first assigned."""
        self._queue_seq += 1
        return self._queue_seq
