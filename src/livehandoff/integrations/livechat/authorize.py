"""The app authorized by an agent from a terminal: LiveChat's authorization code grant (reference §1.3).

1. A random ``state`` and a PKCE verifier make the login page's URL, whose ``redirect_uri`` is a loopback
   address of this machine (``http://127.0.0.1:8765/callback`` by default; it must be one of the app's
   redirect URIs in the Developer Console).
2. The person opens the URL, signs in as the agent the bridge will act through and allows the app;
   LiveChat sends the browser back to the loopback address with a single-use ``code``.
3. The code, the client secret and the verifier buy the agent's refresh token at ``/v2/token``; the
   token response names the organization, and the license id is looked up from it.

The loopback listener answers one request with the right ``state`` and nothing else; it holds no token
and lives only while the command waits. ``BRIDGE_SCOPES`` are the scopes the app must be given for what the
bridge does with the agent token.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from livehandoff.errors import DeskError, LiveHandoffError
from livehandoff.integrations.livechat.client import LiveChatClient

DEFAULT_PORT = 8765
CALLBACK_PATH = "/callback"
WAIT_SECONDS = 300.0
_HEAD_LIMIT = 16_384
_DONE_PAGE = "Authorized. You can close this tab and go back to the terminal."
_FAILED_PAGE = "The authorization failed; the terminal says why."
BRIDGE_SCOPES = {
    "customers:own": "to create and act as customers",
    "webhooks.configuration:rw": "to register the webhooks",
    "groups--all:ro": "to read the groups' status",
}
"""What the bridge does with the agent token (reference §1.4); docs/deploy.md lists them for the app."""
_PERMISSIONS = {"ro": 1, "rc": 2, "rw": 3}
_LEVELS = {"my": 1, "access": 2, "all": 3}


@dataclass(frozen=True, slots=True)
class Authorization:
    """What the settings need from a finished authorization."""

    refresh_token: str = field(repr=False)
    organization_id: str
    license_id: int | None
    account_id: str
    scopes: tuple[str, ...]


class AuthorizationFailed(LiveHandoffError):
    """The login page sent the browser back with an error, the wrong ``state``, or nothing in time."""


def redirect_uri(host: str, port: int) -> str:
    """The loopback address LiveChat sends the browser back to."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{CALLBACK_PATH}"


async def authorize(
    client: LiveChatClient,
    *,
    client_id: str,
    client_secret: str,
    show: Callable[[str], Awaitable[None]],
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    wait_seconds: float = WAIT_SECONDS,
) -> Authorization:
    """Run the whole flow: ``show(url)`` tells the person where to sign in (and may open a browser)."""
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)
    redirect = redirect_uri(host, port)
    callback = _Callback(state)
    server = await asyncio.start_server(callback.handle, host, port)
    async with server:
        url = client.authorize_url(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect,
                "state": state,
                "code_challenge": _s256(verifier),
                "code_challenge_method": "S256",
            }
        )
        await show(url)
        try:
            code = await asyncio.wait_for(callback.code, wait_seconds)
        except TimeoutError:
            raise AuthorizationFailed(
                f"no answer from the login page within {wait_seconds:.0f} seconds"
            ) from None
    grant = await client.redeem_code(
        client_id=client_id,
        client_secret=client_secret,
        code=code,
        redirect_uri=redirect,
        code_verifier=verifier,
    )
    if not grant.refresh_token:
        raise AuthorizationFailed("LiveChat answered the code without a refresh token")
    organization_id = grant.organization_id or ""
    return Authorization(
        refresh_token=grant.refresh_token,
        organization_id=organization_id,
        license_id=await _license_id(client, organization_id),
        account_id=grant.account_id,
        scopes=tuple(scope for scope in grant.scope.split(",") if scope),
    )


async def _license_id(client: LiveChatClient, organization_id: str) -> int | None:
    """The license id is only needed to look up the organization id; a failed lookup is not fatal."""
    if not organization_id:
        return None
    try:
        return await client.get_license_id(organization_id)
    except DeskError:
        return None


def missing_scopes(granted: frozenset[str]) -> dict[str, str]:
    """The scopes of ``BRIDGE_SCOPES`` that ``granted`` does not cover, with what each is for."""
    return {scope: why for scope, why in BRIDGE_SCOPES.items() if not covers(granted, scope)}


def covers(granted: frozenset[str], required: str) -> bool:
    """Whether one granted scope covers ``required``: ``rw`` covers ``ro``, ``--all`` covers ``--my``
    (reference §1.4)."""
    return any(_covers(scope, required) for scope in granted)


def _covers(granted: str, required: str) -> bool:
    granted_name, _, granted_permission = granted.partition(":")
    required_name, _, required_permission = required.partition(":")
    granted_base, _, granted_level = granted_name.partition("--")
    required_base, _, required_level = required_name.partition("--")
    if granted_base != required_base or bool(granted_level) != bool(required_level):
        return False
    if _LEVELS.get(granted_level, 0) < _LEVELS.get(required_level, 0):
        return False
    if granted_permission == required_permission:
        return True
    return _PERMISSIONS.get(granted_permission, 0) >= _PERMISSIONS.get(required_permission, 99)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class _Callback:
    """A tiny HTTP/1.1 responder for the one redirect the login page makes."""

    def __init__(self, state: str) -> None:
        self._state = state
        self.code: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            writer.close()
            return
        status, page = self._answer(head[:_HEAD_LIMIT].decode("latin-1"))
        body = page.encode()
        writer.write(
            f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    def _answer(self, head: str) -> tuple[str, str]:
        method, _, rest = head.partition(" ")
        target = rest.partition(" ")[0]
        parts = urlsplit(target)
        if method != "GET" or parts.path != CALLBACK_PATH:
            return "404 Not Found", "Not found."
        query = dict(parse_qsl(parts.query))
        if query.get("state") != self._state or self.code.done():
            return "400 Bad Request", "This is not the answer to the authorization this terminal started."
        if "code" in query:
            self.code.set_result(query["code"])
            return "200 OK", _DONE_PAGE
        error = query.get("error") or "no code"
        description = query.get("error_description", "")
        self.code.set_exception(
            AuthorizationFailed(
                f"the login page answered {error}" + (f": {description}" if description else "")
            )
        )
        return "400 Bad Request", _FAILED_PAGE
