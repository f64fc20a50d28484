"""The ASGI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from livehandoff import __version__
from livehandoff.config import Settings
from livehandoff.web import customer_api, fulfillment, webhooks
from livehandoff.web.errors import install_error_handlers
from livehandoff.web.services import Services, open_services

STATIC_DIR = Path(__file__).parent / "static"
"""Files for browsers, served at ``/static/``: the customer widget ``widget.js``, the demo shop page and
page scripts. They are package files, so they ship in the wheel."""


def create_app(settings: Settings, *, services: Services | None = None) -> FastAPI:
    """Build the app. Without ``services`` the lifespan opens them from ``settings`` and closes them."""

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
    install_error_handlers(app)
    app.include_router(customer_api.router)
    app.include_router(webhooks.router)
    app.include_router(fulfillment.router)
    _install_cors(app, settings.allowed_origins)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/demo", include_in_schema=False)
    async def demo_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "demo.html", media_type="text/html")

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return app


def _install_cors(app: FastAPI, origins: tuple[str, ...]) -> None:
    """Let pages of ``origins`` call the customer API. Tokens travel in headers or the query, never in
    cookies, so credentials stay off."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["GET", "POST"],
        allow_headers=["authorization", "content-type", "last-event-id"],
        allow_credentials=False,
    )
