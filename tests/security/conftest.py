"""Shared pieces of the security tests: hypothesis profiles, and two ways to run the whole product.

``ThreadedStack`` runs :func:`livehandoff.devstack.run_stack` on an event loop in a thread of its own,
so synchronous property and fuzz tests can call it over loopback like any client. ``in_process`` wires
the bridge app to both emulators through ``httpx.ASGITransport`` (no sockets), which lets a test inject
the rate limiter's clock and record every credential that crosses the wire.

Hypothesis profiles: ``security`` (the default: derandomized, so CI sees the same examples on every run)
and ``security-deep`` (random, ten times the examples), chosen with ``LIVEHANDOFF_HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings

from livehandoff.config import Settings
from livehandoff.devstack import DEMO_PROJECT, Stack, dialogflow_app, run_stack
from livehandoff.emulators.livechat import LiveChatEmulator
from livehandoff.emulators.livechat.seed import Seed
from livehandoff.web.app import create_app
from livehandoff.web.ratelimit import RateLimiter
from livehandoff.web.services import open_services

settings.register_profile(
    "security",
    deadline=None,
    max_examples=60,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "security-deep",
    parent=settings.get_profile("security"),
    max_examples=600,
    derandomize=False,
)
FUZZ = settings.get_profile(os.environ.get("LIVEHANDOFF_HYPOTHESIS_PROFILE", "security"))
"""Apply to every property test here (``@FUZZ``), instead of loading a profile for the whole session."""

START_SECONDS = 60.0
FULFILLMENT_TOKEN = "fuzz-fulfillment-token"
BRIDGE = "http://bridge.test"
LIVECHAT = "http://livechat.test"
DIALOGFLOW = "http://dialogflow.test"


class ThreadedStack:
    """``run_stack(**options)`` on its own event loop in a daemon thread; ``with`` gives the stack."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="livehandoff-stack", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stack: Stack | None = None
        self._failure: BaseException | None = None

    def __enter__(self) -> Stack:
        self._thread.start()
        if not self._ready.wait(START_SECONDS):
            raise RuntimeError("the stack did not start")
        if self._failure is not None:
            raise RuntimeError("the stack did not start") from self._failure
        assert self._stack is not None
        return self._stack

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(START_SECONDS)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the test thread, which raises it
            self._failure = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with run_stack(**self._options) as stack:
            self._stack = stack
            self._ready.set()
            await self._stop.wait()


@pytest.fixture(scope="module")
def threaded_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack for a whole module of synchronous tests, with limits too high to get in their way."""
    database = tmp_path_factory.mktemp("stack") / "bridge.sqlite3"
    with ThreadedStack(
        database_url=f"sqlite+aiosqlite:///{database}",
        rate_limit_per_client=1_000_000,
        rate_limit_per_conversation=1_000_000,
        dialogflow_webhook_token=FULFILLMENT_TOKEN,
    ) as stack:
        yield stack


@dataclass
class WireLog:
    """Every credential the bridge sent to LiveChat or got back from it."""

    credentials: set[str] = field(default_factory=set)

    def note_request(self, request: httpx.Request) -> None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value:
            self.credentials.add(value)

    def note_response(self, body: bytes) -> None:
        try:
            document = json.loads(body)
        except ValueError:
            return
        if isinstance(document, dict):
            self.credentials.update(
                str(document[k]) for k in ("access_token", "refresh_token") if document.get(k)
            )


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests on and notes the credentials in them and in the answers."""

    def __init__(self, inner: httpx.AsyncBaseTransport, log: WireLog) -> None:
        self._inner = inner
        self._log = log

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._log.note_request(request)
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        self._log.note_response(body)
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)


@dataclass
class InProcess:
    """The bridge app with both emulators, in this event loop."""

    settings: Settings
    emulator: LiveChatEmulator
    app: Any
    wire: WireLog

    def client(self, address: str = "203.0.113.7") -> httpx.AsyncClient:
        """A client of the bridge connecting from ``address``."""
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url=BRIDGE)

    def livechat(self) -> httpx.AsyncClient:
        """A client of the LiveChat emulator (the agent's side)."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.emulator.app), base_url=LIVECHAT)


@asynccontextmanager
async def in_process(
    tmp_path: Path, *, rate_limiter: RateLimiter | None = None, seed: Seed | None = None, **overrides: Any
) -> AsyncIterator[InProcess]:
    """The bridge, the LiveChat emulator (``seed``) and the demo Dialogflow ES agent, without sockets."""
    emulator = LiveChatEmulator(seed=seed)
    creds = emulator.credentials
    wire = WireLog()
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'bridge.sqlite3'}",
        "public_url": BRIDGE,
        "livechat_api_url": LIVECHAT,
        "livechat_accounts_url": LIVECHAT,
        "livechat_client_id": creds.client_id,
        "livechat_client_secret": creds.client_secret,
        "livechat_refresh_token": creds.refresh_token,
        "livechat_organization_id": creds.organization_id,
        "livechat_webhook_secret": "in-process-webhook-secret",
        "dialogflow_api_endpoint": DIALOGFLOW,
        "dialogflow_project_id": DEMO_PROJECT,
        **overrides,
    }
    settings = Settings(**values)
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        LIVECHAT: RecordingTransport(httpx.ASGITransport(app=emulator.app), wire),
        DIALOGFLOW: httpx.ASGITransport(app=dialogflow_app("es", None)),
    }
    async with (
        httpx.AsyncClient(mounts=mounts) as outbound,
        open_services(settings, http=outbound) as services,
    ):
        app = create_app(settings, services=services, rate_limiter=rate_limiter)
        webhooks = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BRIDGE)
        emulator.set_webhook_client(webhooks)
        try:
            yield InProcess(settings=settings, emulator=emulator, app=app, wire=wire)
        finally:
            await emulator.aclose()
            await webhooks.aclose()
