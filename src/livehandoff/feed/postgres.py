"""Waking up event-stream readers on every instance, through PostgreSQL ``LISTEN``/``NOTIFY``.

Like the in-process feed, a wake-up carries no data: the events are already in the store when it is
sent, and a reader woken reads them from there. So a wake-up that is lost (a dropped connection, an
instance restarting) costs at most the stream's keep-alive interval, never an event; and a reader that
hears its own instance's wake-up twice reads nothing new the second time.

One connection listens for the whole process and one sends. When the listening connection drops, it is
opened again with backoff, and every local reader is woken once it is back, so streams catch up with
whatever was stored while nobody listened.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from typing import Any

import asyncpg
import structlog
from sqlalchemy.engine import make_url

from livehandoff.feed.memory import InMemoryFeed, InMemorySubscription

log = structlog.get_logger("livehandoff.feed")

CHANNEL = "livehandoff_feed"
RECONNECT_MAX_SECONDS = 5.0


def asyncpg_dsn(database_url: str) -> str:
    """The libpq-style DSN asyncpg takes, for a SQLAlchemy ``postgresql+asyncpg://`` URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresFeed:
    """Readers registered per conversation in this process, woken by ``NOTIFY`` from any instance."""

    def __init__(self, database_url: str, *, channel: str = CHANNEL, notify_on_publish: bool = True) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._channel = channel
        self._notify_on_publish = notify_on_publish
        """False when the store sends the ``NOTIFY`` inside the transaction that saves the events."""
        self._local = InMemoryFeed()
        self._listener: Any = None
        self._sender: Any = None
        self._sending = asyncio.Lock()
        self._lost = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen (raises when PostgreSQL cannot be reached: the instance should not start deaf)."""
        await self._listen()
        self._watcher = asyncio.create_task(self._keep_listening())

    async def publish(self, conversation_id: str, seq: int) -> None:
        await self._local.publish(conversation_id, seq)
        if not self._notify_on_publish:
            return
        try:
            async with self._sending:
                if self._sender is None or self._sender.is_closed():
                    self._sender = await asyncpg.connect(self._dsn)
                await self._sender.execute("SELECT pg_notify($1, $2)", self._channel, conversation_id)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Readers on other instances hear of it at their next keep-alive read instead.
            log.warning("feed.notify_failed", error=type(exc).__name__)
            self._sender = None

    def subscribe(self, conversation_id: str) -> InMemorySubscription:
        return self._local.subscribe(conversation_id)

    def watch(self, callback: Callable[[str], None]) -> None:
        self._local.watch(callback)

    async def aclose(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        for connection in (self._listener, self._sender):
            if connection is not None and not connection.is_closed():
                await connection.close()

    # --- listening --------------------------------------------------------------------------------

    async def _listen(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        connection.add_termination_listener(lambda _: self._lost.set())
        await connection.add_listener(self._channel, self._heard)
        self._listener = connection
        self._lost.clear()

    def _heard(self, connection: object, pid: int, channel: str, payload: str) -> None:
        self._local.wake(payload)

    async def _keep_listening(self) -> None:
        delay = 0.1
        while True:
            await self._lost.wait()
            log.warning("feed.listener_lost")
            while True:
                try:
                    await self._listen()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("feed.listen_failed", error=type(exc).__name__, retry_in=round(delay, 2))
                    await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                    delay = min(delay * 2, RECONNECT_MAX_SECONDS)
                    continue
                break
            delay = 0.1
            log.info("feed.listener_back")
            self._local.wake_all()  # what was stored while nobody listened
