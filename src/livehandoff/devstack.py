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
from typing import Any, Literal
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette

from livehandoff.config import Settings
from livehandoff.demo import demo_agent_path, demo_cx_agent_path
from livehandoff.emulators.dialogflow import create_app as create_dialogflow_app
from livehandoff.emulators.dialogflow import load_agent
from livehandoff.emulators.dialogflow.cx import create_cx_app, load_cx_agent
from livehandoff.emulators.dialogflow.faults import DialogflowFaultConfig
from livehandoff.emulators.livechat import Credentials, FaultConfig, LiveChatEmulator, load_seed
from livehandoff.web.app import create_app

DEMO_PROJECT = "livehandoff-demo"
SHUTDOWN_GRACE_SECONDS = 2
DEMO_CX_AGENT = "demo-agent"


@dataclass(frozen=True, slots=True)
class Stack:
    """Where everything listens, and the credentials a person or a test needs."""

    bridge_url: str
    livechat_url: str
    dialogflow_url: str
    credentials: Credentials
    settings: Settings
    livechat: LiveChatEmulator

    def agent_console_url(self) -> str:
        """The emulator's agent console, signed in as the seeded agent; a fragment never reaches a server."""
        creds = self.credentials
        return f"{self.livechat_url}/console#" + urlencode(
            {"account_id": creds.agent_account_id, "pat": creds.agent_pat}
        )

    def describe(self) -> dict[str, Any]:
        """The JSON object ``livehandoff demo --json`` prints."""
        creds = self.credentials
        return {
            "bridge_url": self.bridge_url,
            "livechat_url": self.livechat_url,
            "dialogflow_url": self.dialogflow_url,
            "customer_page": f"{self.bridge_url}/demo",
            "agent_console": self.agent_console_url(),
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
    """A listening socket; port 0 picks a free one. Binding here (not in uvicorn) avoids a port race.

    The protocol is named: asyncio turns Nagle's algorithm off (``TCP_NODELAY``) only on connections
    whose socket says ``IPPROTO_TCP``. Without it a response written in two parts waits for the
    client's delayed ACK, about 40 ms per request on a kept-alive connection.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


@asynccontextmanager
async def serve(app: Any, sock: socket.socket) -> AsyncIterator[str]:
    """Serve ``app`` on ``sock`` until the context exits; yields the base URL."""
    # Event streams never end on their own: shutdown closes them after a short grace period.
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
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
    edition: Literal["es", "cx"] = "es",
    livechat_faults: FaultConfig | None = None,
    dialogflow_faults: DialogflowFaultConfig | None = None,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """Start the emulators and the bridge; the bridge on ``port`` (0: any), the emulators on free ports.

    ``edition`` picks the Dialogflow emulator: ES from an agent export, or CX from a scripted agent.
    ``livechat_faults`` and ``dialogflow_faults`` start the emulators with faults on (docs/emulators.md).
    """
    bridge_sock = bind(host, port)
    livechat_sock, dialogflow_sock = bind(host, 0), bind(host, 0)
    emulator = LiveChatEmulator(seed=load_seed(seed_path) if seed_path else None, faults=livechat_faults)
    bot_app = dialogflow_app(edition, agent_path, faults=dialogflow_faults)
    if edition == "cx":
        overrides = {"dialogflow_edition": "cx", "dialogflow_agent_id": DEMO_CX_AGENT, **overrides}
    async with AsyncExitStack() as stack:
        stack.push_async_callback(emulator.aclose)
        livechat_url = await stack.enter_async_context(serve(emulator.app, livechat_sock))
        dialogflow_url = await stack.enter_async_context(serve(bot_app, dialogflow_sock))
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


def dialogflow_app(
    edition: Literal["es", "cx"], agent_path: Path | None, *, faults: DialogflowFaultConfig | None = None
) -> Starlette:
    """The Dialogflow emulator for ``edition``, loaded with ``agent_path`` or the demo agent."""
    if edition == "cx":
        return create_cx_app(load_cx_agent(agent_path or demo_cx_agent_path()), faults=faults)
    return create_dialogflow_app(load_agent(agent_path or demo_agent_path()), faults=faults)


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
        "demo_page": True,
        **overrides,
    }
    return Settings(**values)
