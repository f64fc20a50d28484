"""The commands that talk to LiveChat and Dialogflow for a person at a terminal: ``check --live``,
``livechat webhooks [--prune]`` and ``livechat authorize``.

Each takes the ``httpx.AsyncClient`` to use, so tests point it at the emulators in process. What a person
should do is printed on stdout; the settings lines ``livechat authorize`` prints are the only stdout of that
command, so it can be redirected into an environment file. Exit statuses: 0 done, 1 a check failed or
LiveChat refused, 2 settings missing.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable

import httpx
from pydantic import SecretStr

from livehandoff import live_check
from livehandoff.check import Problem, variable
from livehandoff.config import Settings
from livehandoff.errors import DeskError, LiveHandoffError
from livehandoff.integrations.livechat import LiveChatClient, TokenManager
from livehandoff.integrations.livechat.authorize import (
    AuthorizationFailed,
    authorize,
    missing_scopes,
    redirect_uri,
)
from livehandoff.integrations.livechat.registration import PRUNE, elsewhere, list_webhooks, prune_webhooks
from livehandoff.server import explain
from livehandoff.web.services import WEBHOOK_PATH


def needs(settings: Settings, *fields: str) -> list[Problem]:
    """A problem for each of ``fields`` left empty."""
    empty = []
    for field in fields:
        value = getattr(settings, field)
        if not (value.get_secret_value() if isinstance(value, SecretStr) else value):
            empty.append(Problem(variable(field), "required for this command"))
    return empty


def _refused(command: str, exc: LiveHandoffError) -> int:
    print(f"livehandoff {command}: {explain(exc) or exc}", file=sys.stderr)
    return 1


# --- check --live --------------------------------------------------------------------------------


async def check_live(settings: Settings, *, http: httpx.AsyncClient) -> int:
    """Every live check, printed as it is known; 0 only when all passed."""
    outcomes = await live_check.run(settings, http=http)
    for outcome in outcomes:
        print("\n".join(outcome.lines()))
    failed = sum(not outcome.passed for outcome in outcomes)
    print(f"\n{len(outcomes) - failed} of {len(outcomes)} checks passed" + ("" if failed else ": ready"))
    return 1 if failed else 0


# --- livechat webhooks ---------------------------------------------------------------------------


async def webhooks(settings: Settings, *, http: httpx.AsyncClient, prune: bool) -> int:
    """List this app's webhooks, marking those that deliver elsewhere than ``PUBLIC_URL``; remove them
    with ``prune``."""
    client = LiveChatClient.from_settings(http, settings)
    tokens = TokenManager.from_settings(client, settings)
    url = settings.public_url + WEBHOOK_PATH
    owner = settings.livechat_client_id
    try:
        found = await list_webhooks(client, tokens=tokens, owner_client_id=owner)
        for hook in found:
            where = "here     " if hook.url == url else "elsewhere"
            print(f"{where}  {hook.action:<20} {hook.url}  ({hook.id})")
        stale = elsewhere(found, url)
        if prune and stale:
            removed = await prune_webhooks(client, tokens=tokens, url=url, owner_client_id=owner)
            print(f"removed {len(removed)} webhook(s) that delivered elsewhere than {url}")
        elif stale:
            print(
                f"{len(stale)} of this app's webhooks deliver elsewhere than {url}; `{PRUNE}` removes them "
                "(another deployment of the same LiveChat app would lose its webhooks)"
            )
        elif not found:
            print(f"this app has no webhooks; serve registers them for {url}")
    except DeskError as exc:
        return _refused("livechat webhooks", exc)
    return 0


# --- livechat authorize --------------------------------------------------------------------------


async def livechat_authorize(
    settings: Settings,
    *,
    http: httpx.AsyncClient,
    host: str,
    port: int,
    show: Callable[[str], Awaitable[None]] | None = None,
) -> int:
    """The authorization code grant from a terminal; prints the settings it yields."""
    client = LiveChatClient.from_settings(http, settings)
    try:
        done = await authorize(
            client,
            client_id=settings.livechat_client_id,
            client_secret=settings.livechat_client_secret.get_secret_value(),
            show=show or _tell(redirect_uri(host, port)),
            host=host,
            port=port,
        )
    except OSError as exc:
        print(
            f"livehandoff livechat authorize: cannot listen on {host}:{port} ({exc.strerror or exc}): choose "
            "another --port, and add its redirect URI to the app in the Developer Console",
            file=sys.stderr,
        )
        return 1
    except (AuthorizationFailed, DeskError) as exc:
        return _refused("livechat authorize", exc)
    missing = missing_scopes(frozenset(done.scopes))
    print(f"Authorized as agent account {done.account_id or '(not named)'}.", file=sys.stderr)
    if missing and done.scopes:
        print(f"warning: the app lacks {', '.join(missing)}: add them and authorize again", file=sys.stderr)
    print(
        "Put these in the bridge's settings (they are secrets; keep them out of version control):\n",
        file=sys.stderr,
    )
    print(f"{variable('livechat_refresh_token')}={done.refresh_token}")
    print(f"{variable('livechat_organization_id')}={done.organization_id}")
    if done.license_id is not None:
        print(f"{variable('livechat_license_id')}={done.license_id}")
    return 0


def _tell(redirect: str) -> Callable[[str], Awaitable[None]]:
    async def show(url: str) -> None:
        print(
            "Open this address in a browser, sign in as the agent the bridge should act through, and allow "
            f"the app:\n\n  {url}\n\nWaiting for LiveChat to send the browser back to {redirect} …",
            file=sys.stderr,
            flush=True,
        )

    return show
