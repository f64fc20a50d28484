"""Async engines for the two supported databases, configured once at startup.

SQLite (aiosqlite) needs care to behave like a real transactional database: the ``sqlite3`` driver's
legacy mode emits no ``BEGIN`` before SELECTs or DDL, so we switch that off and emit ``BEGIN`` ourselves
(SQLAlchemy's documented recipe, "Transactions with SQLite and the sqlite3 driver"). Writers ask for
``BEGIN IMMEDIATE`` through an execution option: the write lock is then taken up front, waiting up to
``busy_timeout``, instead of failing with ``SQLITE_BUSY`` when a read transaction tries to upgrade.

A SQLite file is switched to WAL once, before the engine opens it (``prepare_location``): the mode is
stored in the file, and switching it can fail with ``SQLITE_BUSY`` without waiting on the busy timeout
when another connection opens the file at the same moment, so the switch is retried there, off the
event loop, instead of on every new connection.

The store's own work on SQLite does not go through aiosqlite: ``SqliteWorker`` runs each unit of work (a
whole transaction) on one thread of its own with the standard ``sqlite3`` driver. aiosqlite hands every
cursor call to its thread and back, a dozen thread switches per statement; one switch per transaction
costs a fraction of that CPU. One thread also means one writer at a time in the process, in order.
The async engine stays for migrations and health checks. A private in-memory database is a named,
shared-cache one, so that both see the same database.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import URL, Engine, event, make_url, text
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, StaticPool

from livehandoff.errors import ConfigurationError

SQLITE_DRIVER = "sqlite+aiosqlite"
POSTGRES_DRIVER = "postgresql+asyncpg"
_DRIVERS = {
    "sqlite": SQLITE_DRIVER,
    SQLITE_DRIVER: SQLITE_DRIVER,
    "postgres": POSTGRES_DRIVER,
    "postgresql": POSTGRES_DRIVER,
    POSTGRES_DRIVER: POSTGRES_DRIVER,
}

SQLITE_BEGIN = "livehandoff_sqlite_begin"
"""Execution option read by the SQLite ``begin`` hook: ``"DEFERRED"`` (default) or ``"IMMEDIATE"``."""
WRITE_OPTIONS: dict[str, Any] = {SQLITE_BEGIN: "IMMEDIATE"}
"""Execution options for transactions that write; harmless on PostgreSQL, which ignores them."""

SQLITE_BUSY_TIMEOUT_MS = 5000
_SQLITE_PRAGMAS = (
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
)
_WAL_RETRY_PAUSE_S = 0.02

_json_dumps = functools.partial(json.dumps, ensure_ascii=False, allow_nan=False)
"""PostgreSQL's JSON refuses NaN and Infinity; refusing them on SQLite too keeps the backends alike."""


def normalise_url(database_url: str) -> URL:
    """Parse a database URL and pick the async driver: ``postgres://`` and ``postgresql://`` mean asyncpg,
    ``sqlite://`` means aiosqlite. Anything else is a ``ConfigurationError``."""
    try:
        url = make_url(database_url)
    except ArgumentError as exc:
        raise ConfigurationError(f"cannot parse the database URL: {exc}") from exc
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        shown = url.render_as_string(hide_password=True)
        raise ConfigurationError(
            f"unsupported database URL {shown!r}: use sqlite+aiosqlite:///path or postgresql+asyncpg://..."
        )
    return url.set(drivername=driver)


def is_memory(url: URL) -> bool:
    """Whether the URL names a private in-memory SQLite database."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_engine(url: URL, *, schema: str | None = None) -> AsyncEngine:
    """An engine for a URL from ``normalise_url``. ``schema`` (PostgreSQL only) becomes the search path."""
    if url.get_backend_name() == "sqlite":
        if schema is not None:
            raise ConfigurationError("a schema can only be chosen on PostgreSQL")
        return _sqlite_engine(url)
    return _postgres_engine(url, schema)


def shared_memory_url(url: URL) -> URL:
    """A private in-memory database that several connections of this process can open: a uniquely named
    one in SQLite's shared cache (it lives while one of them is open)."""
    name = f"file:livehandoff-{uuid.uuid4().hex}"
    return url.set(database=name, query={"mode": "memory", "cache": "shared", "uri": "true"})


def _sqlite_engine(url: URL) -> AsyncEngine:
    # SQL parameters are message texts and customer details: never in a log line or an exception message.
    options: dict[str, Any] = {"json_serializer": _json_dumps, "hide_parameters": True}
    if is_memory(url):
        # One connection is the database: a second connection would open a second, empty one.
        options["poolclass"] = StaticPool
    elif url.query.get("mode") == "memory":
        options["poolclass"] = NullPool  # the store's worker holds the connection that keeps it alive
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the begin hook below takes over transaction control
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
    if mode not in ("DEFERRED", "IMMEDIATE"):
        raise ValueError(f"unknown SQLite transaction mode {mode!r}")
    connection.exec_driver_sql(f"BEGIN {mode}")


def _postgres_engine(url: URL, schema: str | None) -> AsyncEngine:
    server_settings = {"application_name": "livehandoff"}
    if schema is not None:
        server_settings["search_path"] = _quote_identifier(schema)
    return create_async_engine(
        url,
        json_serializer=_json_dumps,
        hide_parameters=True,  # as on SQLite: parameters are customer data
        pool_pre_ping=True,
        connect_args={"server_settings": server_settings},
    )


def _quote_identifier(name: str) -> str:
    if not name:
        raise ConfigurationError("the schema name is empty")
    return '"' + name.replace('"', '""') + '"'


async def prepare_location(url: URL) -> None:
    """Make a SQLite file ready to open: create its directory, so that ``sqlite+aiosqlite:///data/app.db``
    just works, and put it in WAL mode (readers never block the writer, and the writer never blocks
    readers)."""
    if url.get_backend_name() != "sqlite" or is_memory(url) or url.database is None:
        return
    if url.query.get("mode") == "memory":
        return
    uri = url.database.startswith("file:")  # a URI filename (``?uri=true``): SQLite resolves it
    if not uri:
        await asyncio.to_thread(Path(url.database).parent.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(_switch_to_wal, url.database, uri)


def _switch_to_wal(database: str, uri: bool) -> None:
    """Set ``journal_mode=WAL``, retrying for up to the busy timeout while another connection holds the
    file: this pragma does not always wait on the busy handler."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    connection = sqlite3.connect(database, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, uri=uri)
    try:
        while True:
            try:
                connection.execute("PRAGMA journal_mode=WAL").fetchall()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(_WAL_RETRY_PAUSE_S)
    finally:
        connection.close()


T = TypeVar("T")


class SqliteWorker:
    """One thread doing all of a SQLite store's work, a whole transaction per hand-over."""

    def __init__(self, url: URL) -> None:
        self._engine: Engine = create_sync_engine(
            url.set(drivername="sqlite+pysqlite"),
            poolclass=StaticPool,  # one connection, only ever used from the one thread
            connect_args={"check_same_thread": False},
            json_serializer=_json_dumps,
        )
        event.listen(self._engine, "connect", _sqlite_on_connect)
        event.listen(self._engine, "begin", _sqlite_on_begin)
        self._writer = self._engine.execution_options(**WRITE_OPTIONS)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="livehandoff-sqlite")
        self._closed = False

    async def open(self) -> None:
        """Connect now (a shared in-memory database lives as long as this connection)."""
        await self.read(lambda connection: connection.execute(text("SELECT 1")).all())

    async def read(self, work: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._read, work)

    async def write(self, work: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._write, work)

    def _read(self, work: Callable[[Connection], T]) -> T:
        with self._engine.connect() as connection:
            return work(connection)

    def _write(self, work: Callable[[Connection], T]) -> T:
        with self._writer.begin() as connection:
            return work(connection)

    async def close(self) -> None:
        """Close the connection and end the thread; closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown(wait=True)
