"""The ``store`` fixture: one contract suite, run on every backend.

SQLite always runs, on a file in ``tmp_path`` (a file, not memory, so that racing saves really use two
connections). PostgreSQL runs when ``LIVEHANDOFF_TEST_POSTGRES_URL`` is set; each test gets a schema of
its own, created before and dropped (with everything in it) after, so that runs never see each other.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from livehandoff.storage import SqlStore, open_store
from livehandoff.storage.engine import normalise_url

POSTGRES_URL_VARIABLE = "LIVEHANDOFF_TEST_POSTGRES_URL"
POSTGRES_SKIP_REASON = "set LIVEHANDOFF_TEST_POSTGRES_URL to run the tests on PostgreSQL"
PLUS_TWO = timezone(timedelta(hours=2))


class StepClock:
    """A clock that moves one second per reading, starting off UTC to show that times come back in UTC."""

    def __init__(self) -> None:
        self.current = datetime(2025, 3, 4, 7, 6, 7, 890123, tzinfo=PLUS_TWO)

    def now(self) -> datetime:
        self.current += timedelta(seconds=1)
        return self.current


@dataclass(frozen=True)
class Backend:
    """Where a test's store lives; ``open`` may be called more than once (migrations are idempotent)."""

    name: str
    url: str
    schema: str | None = None

    async def open(self, clock: StepClock | None = None) -> SqlStore:
        return await open_store(self.url, schema=self.schema, clock=clock)


@contextlib.asynccontextmanager
async def postgres_schema(url: str) -> AsyncIterator[str]:
    """A fresh, uniquely named schema for one test, dropped with everything in it afterwards."""
    schema = f"livehandoff_test_{uuid.uuid4().hex}"
    admin = create_async_engine(normalise_url(url), poolclass=NullPool)
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield schema
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()


@contextlib.asynccontextmanager
async def postgres_database(url: str) -> AsyncIterator[str]:
    """A fresh, uniquely named database on the server of ``url`` (its URL), dropped afterwards."""
    name = f"livehandoff_test_{uuid.uuid4().hex}"
    server = normalise_url(url)
    admin = create_async_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(POSTGRES_SKIP_REASON)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")
        return
    url: str = request.getfixturevalue("postgres_url")
    async with postgres_schema(url) as schema:
        yield Backend("postgres", url, schema)


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
async def store(backend: Backend, clock: StepClock) -> AsyncIterator[SqlStore]:
    opened = await backend.open(clock)
    try:
        yield opened
    finally:
        await opened.close()
