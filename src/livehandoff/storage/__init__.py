"""The durable ``ConversationStore``: SQL on SQLite (the default) or PostgreSQL, migrated by Alembic.

``open_store`` is the one way in: it picks the async driver for the URL, upgrades the schema to the
newest revision and returns a ``SqlStore`` that owns its connection pool until ``close()``.
"""

from __future__ import annotations

from livehandoff.ports import Clock
from livehandoff.storage.engine import (
    SqliteWorker,
    create_engine,
    is_memory,
    normalise_url,
    prepare_location,
    shared_memory_url,
)
from livehandoff.storage.migrate import current_revision, head_revision, upgrade
from livehandoff.storage.sql import SqlStore

__all__ = ["SqlStore", "current_revision", "head_revision", "open_store"]


async def open_store(database_url: str, *, schema: str | None = None, clock: Clock | None = None) -> SqlStore:
    """Connect, migrate to head and return the store.

    ``database_url``: ``sqlite+aiosqlite:///relative/or/absolute.db`` (its directory is created),
    ``sqlite+aiosqlite:///:memory:`` (one private database, for tests), or ``postgresql+asyncpg://...``
    (``postgresql://`` and ``postgres://`` mean the same). ``schema`` (PostgreSQL) puts the tables in an
    existing schema instead of the role's default search path. ``clock`` stamps stored events.
    """
    url = normalise_url(database_url)
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite and is_memory(url):
        url = shared_memory_url(url)
    await prepare_location(url)
    engine = create_engine(url, schema=schema)
    worker = SqliteWorker(url) if sqlite else None
    try:
        if worker is not None:
            await worker.open()
        await upgrade(engine)
    except BaseException:
        if worker is not None:
            await worker.close()
        await engine.dispose()
        raise
    return SqlStore(engine, clock=clock, sqlite=worker)
