"""The ASGI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from livehandoff import __version__
from livehandoff.config import Settings
from livehandoff.web import customer_api, webhooks
from livehandoff.web.errors import install_error_handlers
from livehandoff.web.services import Services, open_services


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

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return app
