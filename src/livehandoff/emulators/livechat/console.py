"""The agent console: a page served by the emulator, and the push channel that keeps it live.

The page (``GET /console``, files in ``static/``) is a LiveChat-like agent app that calls only the
public APIs with the agent's PAT: the Agent Chat API (``list_chats``, ``get_chat``, ``send_event``,
``deactivate_chat``, ``transfer_chat``, ``set_routing_status``, ``list_routing_statuses``) and the
Configuration API (``list_groups``). What real LiveChat pushes over its RTM websocket, the emulator
pushes as server-sent events at ``GET /console/events``: a ``login`` event with ``my_profile`` (as
the RTM ``login`` response has it), then one ``changed`` event per change in the agent's
organization, naming only the webhook action and the chat. The page reads the new state through the
API, so the push channel carries no chat data and a lost notice costs nothing: the page reloads
everything whenever the stream (re)opens.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from livehandoff.emulators.livechat.auth import AgentPrincipal, authenticate_agent
from livehandoff.emulators.livechat.errors import authentication_error
from livehandoff.emulators.livechat.services import Services

STATIC_DIR = Path(__file__).parent / "static"

STREAM_SECONDS = 30.0
"""A stream ends after this long and the browser reconnects by itself. Servers wait for open
responses when they shut down (uvicorn does), so an endless stream would hold up ``make demo``'s exit."""
KEEPALIVE_SECONDS = 10.0
RETRY_MS = 1000


async def page(request: Request, services: Services) -> Response:
    """The console's HTML; the sign-in form takes the Account ID and PAT (or reads them from the fragment)."""
    return FileResponse(STATIC_DIR / "console.html", media_type="text/html")


async def events(request: Request, services: Services) -> Response:
    """The push channel; PAT in the query (EventSource sends no headers) or in ``Authorization``."""
    principal = _principal(request, services)
    return StreamingResponse(
        _stream(services, principal),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


def _principal(request: Request, services: Services) -> AgentPrincipal:
    header = request.headers.get("authorization")
    account_id, pat = request.query_params.get("account_id"), request.query_params.get("pat")
    if header is None and account_id and pat:
        header = "Basic " + base64.b64encode(f"{account_id}:{pat}".encode()).decode("ascii")
    if header is None:
        raise authentication_error()
    return authenticate_agent(services.state, header)


async def _stream(services: Services, principal: AgentPrincipal) -> AsyncIterator[str]:
    """Listen before the ``login`` event, so nothing that changes after the page's reload is missed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STREAM_SECONDS
    with services.changes.listen(principal.organization.id) as queue:
        yield f"retry: {RETRY_MS}\n\n"
        yield _frame("login", {"my_profile": _profile(principal)})
        while (remaining := deadline - loop.time()) > 0:
            try:
                async with asyncio.timeout(min(remaining, KEEPALIVE_SECONDS)):
                    notice = await queue.get()
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield _frame("changed", notice)


def _profile(principal: AgentPrincipal) -> dict[str, Any]:
    agent = principal.agent
    return {
        "id": agent.id,
        "name": agent.name,
        "email": agent.id,
        "routing_status": agent.routing_status,
        "organization_id": principal.organization.id,
    }


def _frame(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
