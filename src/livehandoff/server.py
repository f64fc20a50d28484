"""``livehandoff serve``: the app under uvicorn, forwarded headers only from named proxies, and a start-up
that fails with one line naming the fix.

Start-up (the app's lifespan) opens the database and migrates it, loads the Google credentials and
registers LiveChat's webhooks. Starlette reports a failing lifespan with its traceback, which uvicorn logs;
:class:`ExplainedStartup` holds that report back when :func:`explain` knows what the failure means, so a
person reads which setting to change instead of forty lines of stack. A failure it does not know is a
bug, and keeps its traceback.
"""

from __future__ import annotations

import contextlib
from typing import Any

import uvicorn
from alembic.util.exc import CommandError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from livehandoff.config import Settings
from livehandoff.errors import (
    ConfigurationError,
    DeskAuthError,
    DeskError,
    DeskRateLimited,
    DeskUnavailable,
    LiveHandoffError,
)

SHUTDOWN_GRACE_SECONDS = 5
"""Customers' event streams never end by themselves; on shutdown they are closed after this grace period."""
STARTUP_FAILURE = 3
"""The exit status uvicorn uses when the server could not start (say, the port is taken)."""
_DETAIL_LIMIT = 200
_AUTHORIZE = "get a new one with `livehandoff livechat authorize`"


class StartupFailed(LiveHandoffError):
    """The bridge could not start; the message says what to change."""


def uvicorn_config(app: ASGIApp, settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    """How ``serve`` runs ``app``.

    Forwarded headers are believed only from ``LIVEHANDOFF_TRUSTED_PROXIES``. uvicorn's own default believes
    ``X-Forwarded-For`` from any local peer (``127.0.0.1``, ``::1``), so anything connecting from this
    machine (or through a local proxy that passes the header on unchecked) could choose its client address,
    and with it a fresh rate-limit budget for every request.
    """
    trusted = list(settings.trusted_proxies)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,  # never None: that would read uvicorn's FORWARDED_ALLOW_IPS instead
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's records go through our handler, in our format
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )


def serve(settings: Settings, *, host: str, port: int) -> int:
    """Run the bridge until it is stopped; ``StartupFailed`` when it could not start for a known reason."""
    from livehandoff.web.app import create_app

    app = ExplainedStartup(create_app(settings))
    server = uvicorn.Server(uvicorn_config(app, settings, host=host, port=port))
    try:
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
    except SystemExit:  # uvicorn exits when the lifespan fails or the port is taken
        if app.failure is not None:
            raise StartupFailed(app.failure) from None
        raise
    return 0 if server.started else STARTUP_FAILURE


class ExplainedStartup:
    """Passes everything to ``app``; a start-up failure that :func:`explain` knows becomes one line,
    kept in ``failure``, instead of a traceback in the log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.failure: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold_failure(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                held.append(message)  # the traceback; sent below unless the failure is explained
                return
            await send(message)

        try:
            await self.app(scope, receive, hold_failure)
        except BaseException as exc:
            self.failure = explain(exc) if held else None
            if held:
                await send({**held[0], "message": "" if self.failure else held[0].get("message", "")})
            if self.failure is None:
                raise


def explain(failure: BaseException) -> str | None:
    """What a start-up failure means and which setting to change; None for one that is not understood."""
    if isinstance(failure, BaseExceptionGroup) and len(failure.exceptions) == 1:
        return explain(failure.exceptions[0])
    if isinstance(failure, DeskError):
        return _livechat(failure)
    if isinstance(failure, ConfigurationError):
        return str(failure)
    if isinstance(failure, CommandError):
        return (
            f"the database could not be migrated ({_first_line(failure)}): check LIVEHANDOFF_DATABASE_URL "
            "(a database a newer livehandoff migrated needs that version)"
        )
    if isinstance(failure, SQLAlchemyError | OSError):
        detail = failure.orig if isinstance(failure, DBAPIError) and failure.orig is not None else failure
        return f"the database could not be opened ({_first_line(detail)}): check LIVEHANDOFF_DATABASE_URL"
    return None


def _livechat(failure: DeskError) -> str:
    if isinstance(failure, DeskUnavailable):
        return (
            f"LiveChat could not be reached ({failure}): check LIVEHANDOFF_LIVECHAT_API_URL and "
            "LIVEHANDOFF_LIVECHAT_ACCOUNTS_URL, and that this host can reach them"
        )
    if isinstance(failure, DeskRateLimited):
        return f"LiveChat asked to slow down ({failure}): start again in a minute"
    if failure.error_type == "invalid_client":
        return (
            f"LiveChat refused the app ({failure}): check LIVEHANDOFF_LIVECHAT_CLIENT_ID and "
            "LIVEHANDOFF_LIVECHAT_CLIENT_SECRET"
        )
    if isinstance(failure, DeskAuthError):
        return (
            f"LiveChat refused the refresh token ({failure}): check LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN, "
            f"or {_AUTHORIZE}"
        )
    if failure.error_type in ("authorization", "missing_access"):
        return (
            f"LiveChat refused a call for lack of a scope ({failure}): give the app the scopes in "
            "docs/deploy.md, then get a new LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN "
            "with `livehandoff livechat authorize`"
        )
    if failure.error_type == "limit_reached":
        return str(failure)
    return f"LiveChat refused a call ({failure})"


def _first_line(failure: Any) -> str:
    line = (str(failure).strip().splitlines() or [type(failure).__name__])[0]
    return line if len(line) <= _DETAIL_LIMIT else line[: _DETAIL_LIMIT - 1] + "…"
