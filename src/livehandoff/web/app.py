"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.responses import Response

from livehandoff import __version__
from livehandoff.config import Settings
from livehandoff.domain.feed import FeedKind
from livehandoff.errors import DeskAuthError, DeskError
from livehandoff.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from livehandoff.storage import current_revision, head_revision
from livehandoff.web import customer_api, fulfillment, webhooks
from livehandoff.web.dependencies import ServicesDep
from livehandoff.web.errors import InternalErrors, error_response, install_error_handlers
from livehandoff.web.limits import BodySizeLimit
from livehandoff.web.ratelimit import ClientRateLimit, InMemoryRateLimiter, RateLimiter, RedisRateLimiter
from livehandoff.web.schemas import FEED_EVENT, ErrorOut, Readiness, feed_event_name, feed_event_schemas
from livehandoff.web.services import WEBHOOK_PATH, Services, open_services

READY_CHECK_SECONDS = 5.0
"""How long ``/readyz`` waits for each check; a probe's own timeout is usually shorter."""
STATIC_DIR = Path(__file__).parent / "static"
"""Files for browsers, served at ``/static/``: the customer widget ``widget.js``, the demo shop page and
page scripts. They are package files, so they ship in the wheel."""


def create_app(
    settings: Settings, *, services: Services | None = None, rate_limiter: RateLimiter | None = None
) -> FastAPI:
    """Build the app. Without ``services`` the lifespan opens them from ``settings`` and closes them;
    without ``rate_limiter`` the rate limits are counted in Redis when ``LIVEHANDOFF_REDIS_URL`` is set
    (shared by every instance), else in this process."""
    limiter = rate_limiter if rate_limiter is not None else _rate_limiter(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            if services is not None:
                app.state.services = services
                yield
                return
            async with open_services(settings) as opened:
                app.state.services = opened
                yield
        finally:
            if rate_limiter is None and isinstance(limiter, RedisRateLimiter):
                await limiter.aclose()

    app = FastAPI(
        title="livehandoff",
        version=__version__,
        summary="Hand a Dialogflow chatbot conversation to a human agent in LiveChat and back.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    if services is not None:
        app.state.services = services
    app.state.rate_limiter = limiter
    install_error_handlers(app)
    app.include_router(customer_api.router)
    app.include_router(webhooks.router)
    app.include_router(fulfillment.router)
    _install_limits(app, settings, app.state.rate_limiter)
    app.add_middleware(InternalErrors)  # inside CORS, so that a page can read a 500 too
    _document(app, settings.max_message_chars)
    _install_cors(app, settings.allowed_origins)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    if settings.demo_page:  # the demo's shop page; a deployment has its own pages

        @app.get("/demo", include_in_schema=False)
        async def demo_page() -> FileResponse:
            return FileResponse(STATIC_DIR / "demo.html", media_type="text/html")

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus' text format, for the bearer of ``LIVEHANDOFF_METRICS_TOKEN`` (off when it is empty)."""
        token = settings.metrics_token.get_secret_value()
        if not token:
            return error_response(404, "not_found", "metrics are off: set LIVEHANDOFF_METRICS_TOKEN")
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            return error_response(401, "unauthorized", "metrics need the bearer token")
        services: Services = request.app.state.services
        if services.store is not None:
            depth, oldest = await services.store.backlog()
            services.metrics.backlog(depth, oldest, datetime.now(UTC))
        return Response(services.metrics.render(), media_type=METRICS_CONTENT_TYPE)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> JSONResponse:
        """The process is alive (nothing else is checked)."""
        return JSONResponse({"status": "ok"})

    @app.get(
        "/readyz",
        tags=["operations"],
        response_model=Readiness,
        responses={503: {"model": ErrorOut, "description": "A check failed; `checks` says which and why"}},
    )
    async def readyz(services: ServicesDep) -> JSONResponse:
        """Ready for traffic: the database answers and is migrated to this version's schema, and a LiveChat
        agent token can be obtained."""
        return await _readiness(services)

    return app


def _rate_limiter(settings: Settings) -> RateLimiter:
    if settings.redis_url:
        return RedisRateLimiter.from_url(settings.redis_url)
    return InMemoryRateLimiter()


async def _readiness(services: Services) -> JSONResponse:
    """Both checks at once; ``503 not_ready`` with every check's finding when one fails."""
    database, livechat = await asyncio.gather(
        _timed(_database_ready(services)), _timed(_livechat_ready(services))
    )
    results = {"database": database, "livechat": livechat}
    failed = [name for name, result in results.items() if result != "ok"]
    if failed:
        return error_response(503, "not_ready", f"not ready: {', '.join(failed)}", checks=results)
    return JSONResponse({"status": "ready", "checks": results})


async def _timed(check: Awaitable[str]) -> str:
    """The check's finding; a check that fails unexpectedly is named by its exception's type only (a
    database error's message could quote its URL)."""
    try:
        async with asyncio.timeout(READY_CHECK_SECONDS):
            return await check
    except TimeoutError:
        return f"no answer within {READY_CHECK_SECONDS:g} s"
    except Exception as exc:
        return f"failed ({type(exc).__name__})"


async def _database_ready(services: Services) -> str:
    try:
        current = await current_revision(services.store.engine)
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    head = head_revision()
    if current != head:
        return f"not migrated: at revision {current or 'none'}, this version needs {head}"
    return "ok"


async def _livechat_ready(services: Services) -> str:
    try:
        await services.tokens.agent_token()
    except DeskAuthError as exc:
        return (
            f"agent token refused ({exc.error_type or 'authentication'}): check"
            " LIVEHANDOFF_LIVECHAT_CLIENT_ID, _CLIENT_SECRET and _REFRESH_TOKEN"
        )
    except DeskError as exc:
        return f"agent token unavailable ({exc.error_type or type(exc).__name__})"
    return "ok"


def _install_limits(app: FastAPI, settings: Settings, limiter: RateLimiter) -> None:
    """Refuse over-budget clients before reading their bodies, and over-size bodies before any route.

    Added before CORS, so CORS wraps them and a page can read their 413 and 429 answers too.
    """
    app.add_middleware(
        BodySizeLimit,
        limit=settings.max_body_bytes,
        path_limits={WEBHOOK_PATH: settings.max_webhook_body_bytes},
    )
    app.add_middleware(ClientRateLimit, limiter=limiter, per_minute=settings.rate_limit_per_client)


def _document(app: FastAPI, max_chars: int) -> None:
    """What the generated document cannot know by itself.

    It states this deployment's message limit rather than the schema's ceiling, so a client generated from
    it (or a fuzzer) knows which texts are accepted; and it describes the feed events the event stream
    and the transcript carry, from ``domain.feed``.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        schemas = document["components"]["schemas"]
        schemas["PostMessage"]["properties"]["text"]["maxLength"] = max_chars
        schemas.update(feed_event_schemas())
        message = {"$ref": f"#/components/schemas/{feed_event_name(FeedKind.MESSAGE)}"}
        schemas["ConversationOut"]["properties"]["transcript"]["items"] = message
        stream = document["paths"]["/v1/conversations/{conversation_id}/events"]["get"]["responses"]["200"]
        stream["content"]["text/event-stream"]["schema"] = {
            "$ref": f"#/components/schemas/{FEED_EVENT}",
            "description": "The `data` of each server-sent event; its `id` is the event's `seq`.",
        }
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _install_cors(app: FastAPI, origins: tuple[str, ...]) -> None:
    """Let pages of ``origins`` call the customer API. Tokens travel in headers or the query, never in
    cookies, so credentials stay off."""
    if not origins:
        return
    app.add_middleware(
        JsonCors,
        allow_origins=list(origins),
        allow_methods=["GET", "POST"],
        allow_headers=["authorization", "content-type", "idempotency-key", "last-event-id"],
        expose_headers=["idempotent-replayed", "retry-after"],
        allow_credentials=False,
    )


class JsonCors(CORSMiddleware):
    """Starlette's CORS, with a refused preflight in the one error body instead of plain text."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        answer = error_response(400, "bad_request", f"CORS preflight refused: {refused} not allowed")
        for name, value in response.headers.items():
            if name not in ("content-type", "content-length"):
                answer.headers[name] = value
        return answer
