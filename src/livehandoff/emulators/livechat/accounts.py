"""The accounts service: agent OAuth (``/v2/token``) and customer tokens (``/v2/customer/token``).

Errors use the accounts body ``{"oauth_exception", "exception_description"}`` (reference §1.1):

    400 invalid_request           a required field is missing or malformed
    400 unsupported_grant_type    a grant the emulator does not offer (cookie, identity_token, ...)
    400 invalid_grant             unknown, used or expired code / refresh token of another client
    400 resource_not_found        ``entity_id`` names no customer of the agent's organization
    401 invalid_client            unknown client id or wrong client secret
    401 access_denied             missing, invalid or expired agent token, or a PAT (not allowed here)
    401 forbidden                 the agent token lacks the ``customers:own`` scope

``GET /`` stands in for the accounts login page: with ``response_type=code`` it consents at once
(as the agent named by ``login_hint``, else the organization's first agent) and redirects. A
``code_challenge`` (PKCE, method ``S256``) binds the code to its ``code_verifier``, which redeeming it
then needs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from livehandoff.emulators.livechat.auth import scope_covers, split_authorization
from livehandoff.emulators.livechat.errors import OAuthError
from livehandoff.emulators.livechat.model import Agent, AgentToken, App, Customer, Organization, RefreshToken
from livehandoff.emulators.livechat.state import EmulatorState

CUSTOMERS_OWN = "customers:own"


async def authorize(request: Request, state: EmulatorState) -> Response:
    """The login page: consent at once and redirect back with a single-use code."""
    query = request.query_params
    if query.get("response_type") != "code":
        return JSONResponse({"service": "livechat-emulator", "api_version": "3.6"})
    app = state.app(query.get("client_id", ""))
    if app is None:
        raise OAuthError("invalid_client", "unknown client_id", status=401)
    redirect_uri = query.get("redirect_uri") or (app.redirect_uris[0] if app.redirect_uris else "")
    if not redirect_uri or (app.redirect_uris and redirect_uri not in app.redirect_uris):
        raise OAuthError("invalid_request", "redirect_uri is missing or not registered for this client")
    challenge = query.get("code_challenge", "")
    if challenge and query.get("code_challenge_method", "plain") != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256")
    agent = _login_agent(state, app, query.get("login_hint"))
    code = state.issue_code(agent.id, app.client_id, redirect_uri, code_challenge=challenge)
    extra = {"code": code.code, **({"state": query["state"]} if "state" in query else {})}
    return RedirectResponse(_with_query(redirect_uri, extra), status_code=302)


def _login_agent(state: EmulatorState, app: App, hint: str | None) -> Agent:
    org = state.organization(app.organization_id)
    if org is None:
        raise OAuthError("server_error", "the client's organization is gone", status=500)
    if hint:
        agent = org.agents.get(hint)
        if agent is None:
            raise OAuthError("access_denied", "login_hint names no agent of this organization", status=401)
        return agent
    return next(iter(org.agents.values()))


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query), *extra.items()])
    return urlunsplit(parts._replace(query=query))


async def token(request: Request, state: EmulatorState) -> Response:
    """``POST /v2/token``: authorization_code and refresh_token grants (form-encoded)."""
    form = await _read_form(request)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    app = _authenticate_client(state, form)
    if grant_type == "authorization_code":
        refresh = _redeem_code(state, app, form)
    elif grant_type == "refresh_token":
        refresh = _find_refresh(state, app, form)
    else:
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
    access = state.issue_agent_token(refresh.agent_id, app.client_id, refresh.scopes)
    return JSONResponse(_token_body(state, access, refresh))


async def _read_form(request: Request) -> dict[str, str]:
    """Form fields (the documented encoding) or, leniently, a JSON object."""
    raw = (await request.body()).decode("utf-8", errors="replace")
    if "json" in request.headers.get("content-type", ""):
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise OAuthError("invalid_request", "malformed JSON body") from exc
        if not isinstance(data, dict):
            raise OAuthError("invalid_request", "the body must be an object")
        return {str(key): str(value) for key, value in data.items() if value is not None}
    return dict(parse_qsl(raw, keep_blank_values=True))


def _authenticate_client(state: EmulatorState, form: dict[str, str]) -> App:
    app = state.app(form.get("client_id", ""))
    if app is None or form.get("client_secret") != app.client_secret:
        raise OAuthError("invalid_client", "unknown client_id or wrong client_secret", status=401)
    return app


def _redeem_code(state: EmulatorState, app: App, form: dict[str, str]) -> RefreshToken:
    code = state.redeem_code(form.get("code", ""))
    if code is None or code.client_id != app.client_id:
        raise OAuthError("invalid_grant", "the code is unknown, used or expired")
    if form.get("redirect_uri", code.redirect_uri) != code.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri differs from the one of the authorization request")
    if code.code_challenge and not hmac.compare_digest(
        _s256(form.get("code_verifier", "")), code.code_challenge
    ):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    return state.grant_refresh_token(code.agent_id, app.client_id, code.scopes)


def _s256(verifier: str) -> str:
    """PKCE's S256: base64url of the verifier's SHA-256, without padding (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii", errors="replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _find_refresh(state: EmulatorState, app: App, form: dict[str, str]) -> RefreshToken:
    if not form.get("refresh_token"):
        raise OAuthError("invalid_request", "refresh_token is required")
    refresh = state.refresh_token(form["refresh_token"])
    if refresh is None or refresh.client_id != app.client_id:
        raise OAuthError("invalid_grant", "the refresh token is unknown or belongs to another client")
    return refresh


def _token_body(state: EmulatorState, access: AgentToken, refresh: RefreshToken) -> dict[str, Any]:
    agent = state.agent(access.agent_id)
    if agent is None:
        raise OAuthError("server_error", "the token's agent is gone", status=500)
    return {
        "access_token": access.token,
        "account_id": agent.account_id,
        "expires_in": round(access.expires_at - state.now()),
        "organization_id": agent.organization_id,
        "refresh_token": refresh.token,
        "scope": ",".join(sorted(access.scopes)),
        "token_type": "Bearer",
    }


async def customer_token(request: Request, state: EmulatorState) -> Response:
    """``POST /v2/customer/token`` with the agent_token grant (the one a backend uses)."""
    body = await _read_json(request)
    grant_type = body.get("grant_type")
    if grant_type != "agent_token":
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is required")
        raise OAuthError(
            "unsupported_grant_type", f"grant_type {grant_type!r} is not offered by the emulator"
        )
    client_id = body.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise OAuthError("invalid_request", "client_id is required")
    agent_token = _agent_token_for_grant(state, request.headers.get("authorization"))
    org, app = _organization_and_app(state, agent_token, client_id)
    requested_org = body.get("organization_id")
    if requested_org is not None and requested_org != org.id:
        raise OAuthError("invalid_request", "organization_id does not match the agent's organization")
    customer = _customer_for(state, org, body.get("entity_id"))
    issued = state.issue_customer_token(customer, app.client_id)
    return JSONResponse(
        {
            "access_token": issued.token,
            "client_id": app.client_id,
            "entity_id": customer.id,
            "expires_in": round(issued.expires_at - state.now()),
            "token_type": "Bearer",
            "organization_id": org.id,
        }
    )


def _organization_and_app(
    state: EmulatorState, token: AgentToken, client_id: str
) -> tuple[Organization, App]:
    agent = state.agent(token.agent_id)
    org = state.organization(agent.organization_id) if agent is not None else None
    app = state.app(client_id)
    if org is None or app is None or app.organization_id != org.id:
        raise OAuthError("invalid_client", "client_id names no app of the agent's organization", status=401)
    return org, app


def _customer_for(state: EmulatorState, org: Organization, entity_id: object) -> Customer:
    """No ``entity_id``: a new identity; a known one: the same identity again."""
    if entity_id is None:
        return state.create_customer(org)
    if isinstance(entity_id, str) and entity_id in org.customers:
        return org.customers[entity_id]
    raise OAuthError("resource_not_found", "entity_id names no customer of this organization")


async def _read_json(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise OAuthError("invalid_request", "malformed JSON body") from exc
    if not isinstance(data, dict):
        raise OAuthError("invalid_request", "the body must be a JSON object")
    return data


def _agent_token_for_grant(state: EmulatorState, header: str | None) -> AgentToken:
    """A Bearer OAuth agent token with ``customers:own``; PATs are refused (reference §1.1)."""
    scheme, credentials = split_authorization(header)
    if scheme == "basic":
        raise OAuthError(
            "access_denied", "personal access tokens cannot be used for the agent_token grant", status=401
        )
    found = state.agent_token(credentials) if scheme == "bearer" else None
    if found is None:
        raise OAuthError("access_denied", "a valid agent access token is required (Bearer)", status=401)
    if not any(scope_covers(granted, CUSTOMERS_OWN) for granted in found.scopes):
        raise OAuthError("forbidden", "the agent access token lacks the customers:own scope", status=401)
    return found
