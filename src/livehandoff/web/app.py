"""The ASGI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.responses import Response

from livehandoff import __version__
from livehandoff.config import Settings
from livehandoff.domain.feed import FeedKind
from livehandoff.web import customer_api, fulfillment, webhooks
from livehandoff.web.errors import InternalErrors, error_response, install_error_handlers
from livehandoff.web.limits import BodySizeLimit
from livehandoff.web.ratelimit import ClientRateLimit, InMemoryRateLimiter, RateLimiter
from livehandoff.web.schemas import FEED_EVENT, feed_event_name, feed_event_schemas
from livehandoff.web.services import WEBHOOK_PATH, Services, open_services

STATIC_DIR = Path(__file__).parent / "static"
"""Files for browsers, served at ``/static/``: the customer widget ``widget.js``, the demo shop page and
page scripts. They are package files, so they ship in the wheel."""


def create_app(
    settings: Settings, *, services: Services | None = None, rate_limiter: RateLimiter | None = None
) -> FastAPI:
    """Build the app. Without ``services`` the lifespan opens them from ``settings`` and closes them;
    without ``rate_limiter`` the rate limits are counted in this process."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            app.state.services = services
            yield
            return
        async with open_services(settings) as opened:
            app.state.services = opened
            yield

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
    app.state.rate_limiter = InMemoryRateLimiter() if rate_limiter is None else rate_limiter
    install_error_handlers(app)
    app.include_router(customer_api.router)
    app.include_router(webhooks.router)
    app.include_router(fulfillment.router)
    _install_limits(app, settings, app.state.rate_limiter)
    app.add_middleware(InternalErrors)  # inside CORS, so that a page can read a 500 too
    _document(app, settings.max_message_chars)
    _install_cors(app, settings.allowed_origins)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/demo", include_in_schema=False)
    async def demo_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "demo.html", media_type="text/html")

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return app


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
