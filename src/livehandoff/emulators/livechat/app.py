"""The emulator as one object: seeded state, webhook delivery and the Starlette app serving
LiveChat's real paths (accounts and API hosts on one origin).

    GET  /                                            accounts login page (authorization code)
    POST /v2/token                                    agent OAuth: authorization_code, refresh_token
    POST /v2/customer/token                           customer token: agent_token grant
    POST /v3.6/customer/action/<method>?organization_id=<uuid>
    POST /v3.6/agent/action/<method>
    POST /v3.6/configuration/action/<method>
    GET  /v3.4/configuration/action/get_organization_id?license_id=<n>
    GET  /v3.4/configuration/action/get_license_id?organization_id=<uuid>
    GET  /console                                     agent console page (see :mod:`.console`)
    GET  /console/events?account_id=<id>&pat=<pat>    the console's push channel (server-sent events)
    GET  /console/static/<file>                       the console's script and styles
    GET|POST|DELETE /emulator/faults                  faults on demand (see :mod:`.faults`; PAT Basic auth)

The app needs no lifespan to work (tests drive it through ``httpx.ASGITransport``); when a server
runs the lifespan, shutdown cancels pending webhook deliveries.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from livehandoff.emulators.livechat import accounts, agent_api, configuration_api, console, customer_api
from livehandoff.emulators.livechat.changes import ChangeFeed
from livehandoff.emulators.livechat.chats import ChatService
from livehandoff.emulators.livechat.desk import Desk
from livehandoff.emulators.livechat.errors import ApiError, OAuthError
from livehandoff.emulators.livechat.faults import FaultConfig, FaultInjector
from livehandoff.emulators.livechat.faults import endpoint as faults_endpoint
from livehandoff.emulators.livechat.ids import Clock
from livehandoff.emulators.livechat.notify import Notification, Notifier
from livehandoff.emulators.livechat.payload import Fields, read_json_object
from livehandoff.emulators.livechat.seed import Seed, default_seed
from livehandoff.emulators.livechat.services import Action, Services
from livehandoff.emulators.livechat.state import Credentials, EmulatorState
from livehandoff.emulators.livechat.webhooks import DEFAULT_RETRY_DELAYS, WebhookDispatcher

API_VERSION = "v3.6"
CallT = TypeVar("CallT")
DepT = TypeVar("DepT")


class LiveChatEmulator:
    """LiveChat in a box: ``emu.app`` is the ASGI app, ``emu.credentials`` what a bridge needs.

    ``faults`` turns fault injection on from the start; ``emu.faults.configure(...)`` (or
    ``POST /emulator/faults``) changes it later and ``emu.faults.snapshot()`` counts what was injected.
    """

    def __init__(
        self,
        seed: Seed | None = None,
        webhook_client: httpx.AsyncClient | None = None,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        *,
        clock: Clock | None = None,
        faults: FaultConfig | None = None,
    ) -> None:
        self.state = EmulatorState(seed or default_seed(), clock=clock or time.time)
        self.faults = FaultInjector(faults)
        self.webhooks = WebhookDispatcher(
            self.state, client=webhook_client, retry_delays=retry_delays, faults=self.faults
        )
        self.changes = ChangeFeed()
        chats = ChatService(self.state, Notifier(self._notify))
        self.services = Services(
            state=self.state, chats=chats, desk=Desk(chats), webhooks=self.webhooks, changes=self.changes
        )
        self.app = build_app(self.services, lifespan=self._lifespan, faults=self.faults)

    @property
    def credentials(self) -> Credentials:
        """Organization, first agent (with PAT) and first app (with refresh token) of the seed."""
        return self.state.credentials

    def _notify(self, note: Notification) -> None:
        self.webhooks.notify(note)
        self.changes.publish(note)

    def set_webhook_client(self, client: httpx.AsyncClient) -> None:
        """Deliver webhooks through this client (e.g. one with ``ASGITransport(bridge_app)``)."""
        self.webhooks.set_client(client)

    async def wait_idle(self) -> None:
        """Return when no webhook delivery is pending."""
        await self.webhooks.wait_idle()

    async def aclose(self) -> None:
        """Cancel pending deliveries and close the HTTP client the emulator created itself."""
        await self.webhooks.aclose()

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        await self.aclose()


def build_app(
    services: Services,
    *,
    lifespan: Callable[[Starlette], Any] | None = None,
    faults: FaultInjector | None = None,
) -> Starlette:
    """Routes for every host the bridge talks to, and LiveChat-shaped errors for all of them."""
    state = services.state
    faults = faults or FaultInjector()
    routes = [
        Route("/", _bind(accounts.authorize, state), methods=["GET"]),
        Route("/v2/token", _accounts(faults, "token", _bind(accounts.token, state)), methods=["POST"]),
        Route(
            "/v2/customer/token",
            _accounts(faults, "customer_token", _bind(accounts.customer_token, state)),
            methods=["POST"],
        ),
        Route(
            _action_path("customer"),
            _api(services, faults, "customer", customer_api.ACTIONS, customer_api.open_call),
            methods=["POST"],
        ),
        Route(
            _action_path("agent"),
            _api(services, faults, "agent", agent_api.ACTIONS, agent_api.open_call),
            methods=["POST"],
        ),
        Route(
            _action_path("configuration"),
            _api(services, faults, "configuration", configuration_api.ACTIONS, configuration_api.open_call),
            methods=["POST"],
        ),
        Route(
            "/v3.4/configuration/action/get_organization_id",
            _bind(configuration_api.get_organization_id, services),
            methods=["GET"],
        ),
        Route(
            "/v3.4/configuration/action/get_license_id",
            _bind(configuration_api.get_license_id, services),
            methods=["GET"],
        ),
        Route("/console", _bind(console.page, services), methods=["GET"]),
        Route("/console/events", _bind(console.events, services), methods=["GET"]),
        Mount("/console/static", StaticFiles(directory=console.STATIC_DIR), name="console-static"),
        Route("/emulator/faults", _faults_endpoint(services, faults), methods=["GET", "POST", "DELETE"]),
        Route(
            "/{version}/{api}/action/{method}", unsupported, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
        ),
    ]
    handlers: Mapping[Any, Callable[[Request, Exception], Any]] = {
        ApiError: _api_error,
        OAuthError: _oauth_error,
        HTTPException: _http_error,
    }
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.faults = faults
    return app


def _action_path(api: str) -> str:
    return f"/{API_VERSION}/{api}/action/{{method}}"


def _bind(
    handler: Callable[[Request, DepT], Awaitable[Response]], dependency: DepT
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await handler(request, dependency)

    return endpoint


def _api(
    services: Services,
    faults: FaultInjector,
    api: str,
    actions: Mapping[str, Action[CallT]],
    open_call: Callable[[Request, Services], CallT],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await dispatch_action(request, services, actions, open_call, faults=faults, api=api)

    return endpoint


def _accounts(
    faults: FaultInjector, name: str, handler: Callable[[Request], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await faults.accounts_call(request, name, lambda: handler(request))

    return endpoint


def _faults_endpoint(services: Services, faults: FaultInjector) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await faults_endpoint(request, services, faults)

    return endpoint


async def dispatch_action(
    request: Request,
    services: Services,
    actions: Mapping[str, Action[CallT]],
    open_call: Callable[[Request, Services], CallT],
    *,
    faults: FaultInjector | None = None,
    api: str = "customer",
) -> Response:
    """Every API request passes here: method lookup, injected faults, authentication, body, handler.

    Faults are decided before authentication and the method run, so an injected error leaves the
    state as it was, as a real overloaded front end would.
    """
    method = request.path_params["method"]
    action = actions.get(method)
    if action is None:
        raise ApiError("not_found", f"Method not found: {method}")

    async def apply() -> Response:
        call = open_call(request, services)
        body = Fields(await read_json_object(request))
        return JSONResponse(action(call, body))

    if faults is None:
        return await apply()
    return await faults.api_call(request, api, method, apply)


async def unsupported(request: Request) -> Response:
    """Other API versions, or a wrong HTTP method on a v3.6 path."""
    version = request.path_params["version"]
    if version != API_VERSION:
        raise ApiError("unsupported_version", f"Unsupported version: {version}; the emulator speaks 3.6")
    raise ApiError("not_found", f"No such endpoint: {request.method} {request.url.path} (actions are POST)")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _oauth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error_type = "not_found" if exc.status_code in (404, 405) else "validation"
    return ApiError(error_type, f"No such endpoint: {request.method} {request.url.path}").response()
