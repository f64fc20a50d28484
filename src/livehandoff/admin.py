"""The commands that talk to LiveChat for a person at a terminal: ``livechat authorize``.

Each takes the ``httpx.AsyncClient`` to use, so tests point it at the emulators in process. What a person
should do is printed on stdout; the settings lines ``livechat authorize`` prints are the only stdout of that
command, so it can be redirected into an environment file. Exit statuses: 0 done, 1 LiveChat refused,
2 settings missing.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable

import httpx
from pydantic import SecretStr

from livehandoff.check import Problem, variable
from livehandoff.config import Settings
from livehandoff.errors import DeskError, LiveHandoffError
from livehandoff.integrations.livechat import LiveChatClient
from livehandoff.integrations.livechat.authorize import (
    AuthorizationFailed,
    authorize,
    missing_scopes,
    redirect_uri,
)
from livehandoff.server import explain


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
