"""The whole product on loopback: LiveChat emulator, Dialogflow emulator and the bridge, in one process.

``livehandoff demo`` runs it for people; the scenario tests run the very same stack, so what the demo
shows is what the tests prove.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from livehandoff.config import Settings
from livehandoff.demo import demo_agent_path
from livehandoff.emulators.dialogflow import create_app as create_dialogflow_app
from livehandoff.emulators.dialogflow import load_agent
from livehandoff.emulators.livechat import Credentials, LiveChatEmulator, load_seed
from livehandoff.web.app import create_app

DEMO_PROJECT = "livehandoff-demo"


@dataclass(frozen=True, slots=True)
class Stack:
    """Where everything listens, and the credentials a person or a test needs."""

    bridge_url: str
    livechat_url: str
    dialogflow_url: str
    credentials: Credentials
    settings: Settings
    livechat: LiveChatEmulator

    def describe(self) -> dict[str, Any]:
        """The JSON object ``livehandoff demo --json`` prints."""
        creds = self.credentials
        return {
            "bridge_url": self.bridge_url,
            "livechat_url": self.livechat_url,
            "dialogflow_url": self.dialogflow_url,
            "agent": {"account_id": creds.agent_account_id, "pat": creds.agent_pat, "name": creds.agent_name},
            "oauth": {
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
                "refresh_token": creds.refresh_token,
            },
            "organization_id": creds.organization_id,
            "license_id": creds.license_id,
            "dialogflow_project_id": DEMO_PROJECT,
            "webhook_secret": self.settings.livechat_webhook_secret.get_secret_value(),
        }


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one. Binding here (not in uvicorn) avoids a port race."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


@asynccontextmanager
async def serve(app: Any, sock: socket.socket) -> AsyncIterator[str]:
    """Serve ``app`` on ``sock`` until the context exits; yields the base URL."""
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("server stopped while starting")
            await asyncio.sleep(0.01)
        host, port = sock.getsockname()[:2]
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def run_stack(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    database_url: str = "sqlite+aiosqlite:///./livehandoff-demo.sqlite3",
    agent_path: Path | None = None,
    seed_path: Path | None = None,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """Start the emulators and the bridge; the bridge on ``port`` (0: any), the emulators on free ports."""
    bridge_sock = bind(host, port)
    livechat_sock, dialogflow_sock = bind(host, 0), bind(host, 0)
    emulator = LiveChatEmulator(seed=load_seed(seed_path) if seed_path else None)
    agent = load_agent(agent_path or demo_agent_path())
    async with AsyncExitStack() as stack:
        stack.push_async_callback(emulator.aclose)
        livechat_url = await stack.enter_async_context(serve(emulator.app, livechat_sock))
        dialogflow_url = await stack.enter_async_context(serve(create_dialogflow_app(agent), dialogflow_sock))
        bridge_host, bridge_port = bridge_sock.getsockname()[:2]
        bridge_url = f"http://{bridge_host}:{bridge_port}"
        settings = _settings(
            emulator.credentials, bridge_url, livechat_url, dialogflow_url, database_url, overrides
        )
        await stack.enter_async_context(serve(create_app(settings), bridge_sock))
        yield Stack(
            bridge_url=bridge_url,
            livechat_url=livechat_url,
            dialogflow_url=dialogflow_url,
            credentials=emulator.credentials,
            settings=settings,
            livechat=emulator,
        )


def _settings(
    creds: Credentials,
    bridge_url: str,
    livechat_url: str,
    dialogflow_url: str,
    database_url: str,
    overrides: dict[str, Any],
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "public_url": bridge_url,
        "livechat_api_url": livechat_url,
        "livechat_accounts_url": livechat_url,
        "livechat_client_id": creds.client_id,
        "livechat_client_secret": creds.client_secret,
        "livechat_refresh_token": creds.refresh_token,
        "livechat_organization_id": creds.organization_id,
        "livechat_webhook_secret": secrets.token_urlsafe(24),
        "dialogflow_api_endpoint": dialogflow_url,
        "dialogflow_project_id": DEMO_PROJECT,
        "google_application_credentials": "",
        **overrides,
    }
    return Settings(**values)
