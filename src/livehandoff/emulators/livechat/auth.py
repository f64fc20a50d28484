"""Who is calling: agent PATs (Basic), agent OAuth tokens (Bearer), customer tokens (Bearer).

The two token families never mix: a customer token on the agent side, an agent token on the
customer side and a PAT sent as Bearer all get ``authentication`` / "Invalid access token"
(reference §1, troubleshooting page).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Literal

from livehandoff.emulators.livechat.errors import ApiError, authentication_error
from livehandoff.emulators.livechat.model import Actor, Agent, Customer, Organization
from livehandoff.emulators.livechat.state import EmulatorState

_PERMISSION_RANK = {"ro": 1, "rc": 2, "rw": 3}
_LEVEL_RANK = {"my": 1, "access": 2, "all": 3}


@dataclass(frozen=True, slots=True)
class AgentPrincipal:
    """An authenticated agent; ``client_id`` is ``None`` for PATs."""

    agent: Agent
    organization: Organization
    scopes: frozenset[str]
    client_id: str | None
    via: Literal["pat", "oauth"]

    @property
    def actor(self) -> Actor:
        """The agent as the author of changes."""
        return Actor(self.agent.id, "agent", self.client_id)

    def require_scope(self, required: str) -> None:
        """``authorization`` unless one granted scope covers the required one."""
        if not any(scope_covers(granted, required) for granted in self.scopes):
            raise ApiError("authorization", f"Missing required scope: {required}")


@dataclass(frozen=True, slots=True)
class CustomerPrincipal:
    """An authenticated customer and the app that obtained their token."""

    customer: Customer
    organization: Organization
    client_id: str

    @property
    def actor(self) -> Actor:
        """The customer as the author of changes."""
        return Actor(self.customer.id, "customer", self.client_id)


def scope_covers(granted: str, required: str) -> bool:
    """Scope rules of reference §1.4: ``rw`` ⊃ ``rc`` ⊃ ``ro``; ``--all`` ⊃ ``--access`` ⊃ ``--my``."""
    granted_name, _, granted_perm = granted.partition(":")
    required_name, _, required_perm = required.partition(":")
    granted_base, _, granted_level = granted_name.partition("--")
    required_base, _, required_level = required_name.partition("--")
    if granted_base != required_base:
        return False
    if granted_level != required_level:
        if not granted_level or not required_level:
            return False
        if _LEVEL_RANK.get(granted_level, 0) < _LEVEL_RANK.get(required_level, 99):
            return False
    if granted_perm == required_perm:
        return True
    return _PERMISSION_RANK.get(granted_perm, 0) >= _PERMISSION_RANK.get(required_perm, 99)


def split_authorization(header: str | None) -> tuple[str, str]:
    """``(scheme, credentials)`` with the scheme lower-cased; empty strings when absent."""
    if not header:
        return "", ""
    scheme, _, credentials = header.strip().partition(" ")
    return scheme.lower(), credentials.strip()


def authenticate_agent(state: EmulatorState, header: str | None) -> AgentPrincipal:
    """Basic PAT or Bearer OAuth agent token."""
    scheme, credentials = split_authorization(header)
    if scheme == "basic":
        return _from_pat(state, credentials)
    if scheme == "bearer":
        return agent_from_bearer(state, credentials)
    raise authentication_error()


def agent_from_bearer(state: EmulatorState, token: str) -> AgentPrincipal:
    """An OAuth agent access token (not a PAT, not a customer token)."""
    found = state.agent_token(token)
    agent = state.agent(found.agent_id) if found is not None else None
    org = state.organization(agent.organization_id) if agent is not None else None
    if found is None or agent is None or org is None:
        raise authentication_error()
    return AgentPrincipal(agent, org, found.scopes, found.client_id, "oauth")


def _from_pat(state: EmulatorState, credentials: str) -> AgentPrincipal:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise authentication_error() from exc
    account_id, _, pat = decoded.partition(":")
    agent = state.agent_by_pat(account_id, pat)
    org = state.organization(agent.organization_id) if agent is not None else None
    if agent is None or org is None:
        raise authentication_error()
    return AgentPrincipal(agent, org, agent.pat_scopes, None, "pat")


def authenticate_customer(state: EmulatorState, header: str | None) -> CustomerPrincipal:
    """A Bearer customer access token from the agent_token grant."""
    scheme, token = split_authorization(header)
    found = state.customer_token(token) if scheme == "bearer" else None
    org = state.organization(found.organization_id) if found is not None else None
    customer = org.customers.get(found.customer_id) if found is not None and org is not None else None
    if found is None or org is None or customer is None:
        raise authentication_error()
    return CustomerPrincipal(customer, org, found.client_id)
