"""Alembic, driven from code: no ``alembic.ini``, the scripts ship inside the package.

The application upgrades at startup (``open_store``) through Alembic's documented asyncio recipe: an
``AsyncConnection.run_sync`` hands a connection to ``command.upgrade`` in ``config.attributes``, and
``migrations/env.py`` uses it. The upgrade runs in one transaction (DDL is transactional on both
backends), under a lock, so that instances starting together neither race nor half-migrate.

Developers draft a new revision with::

    python -m livehandoff.storage revision --autogenerate -m "add a column"

which compares ``tables.metadata`` with a database upgraded to head (a scratch SQLite file by default).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from livehandoff.errors import ConfigurationError
from livehandoff.storage.engine import WRITE_OPTIONS, create_engine, normalise_url, prepare_location

SCRIPT_LOCATION = "livehandoff.storage:migrations"


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged scripts, with no file behind it."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def head_revision() -> str | None:
    """The newest revision the installed package knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to ``revision`` in one transaction; a no-op when it is there already."""
    async with engine.execution_options(**WRITE_OPTIONS).begin() as connection:
        if connection.dialect.name == "postgresql":
            await _lock_postgres_schema(connection)
        await connection.run_sync(_upgrade, revision)


async def _lock_postgres_schema(connection: AsyncConnection) -> None:
    """Wait for any other instance migrating the same schema (the lock ends with the transaction).

    Advisory locks are database-wide; keying this one by schema lets separate schemas migrate in parallel.
    """
    schema = (await connection.execute(text("SELECT current_schema()"))).scalar()
    if schema is None:
        raise ConfigurationError("no schema of the PostgreSQL search path exists: create it first")
    key = f"livehandoff.migrate:{schema}"
    await connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None before the first upgrade)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _autogenerate(connection: Connection, rev_id: str, message: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.revision(config, message=message, autogenerate=True, rev_id=rev_id)


async def _autogenerate_revision(database_url: str, message: str) -> None:
    url = normalise_url(database_url)
    await prepare_location(url)
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with engine.begin() as connection:
            await connection.run_sync(_autogenerate, _next_rev_id(), message)
    finally:
        await engine.dispose()


def _next_rev_id() -> str:
    """Revisions are numbered ``0001``, ``0002``, ... so that the files sort in the order they apply."""
    known = [script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()]
    numbers = [int(rev) for rev in known if rev.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def main(argv: Sequence[str] | None = None) -> int:
    """``upgrade``, ``current`` or ``revision`` against a database URL."""
    parser = argparse.ArgumentParser(
        prog="python -m livehandoff.storage",
        description="Upgrade a livehandoff database, show its revision, or draft a new migration.",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("upgrade", help="migrate the database to the newest revision").add_argument("database_url")
    sub.add_parser("current", help="show the revision of the database").add_argument("database_url")
    draft = sub.add_parser("revision", help="draft a new migration script in the package")
    draft.add_argument("-m", "--message", required=True)
    draft.add_argument("--autogenerate", action="store_true")
    draft.add_argument(
        "--database-url", help="compare against this database (default: a scratch SQLite file)"
    )
    args = parser.parse_args(argv)
    if args.action == "revision" and not args.autogenerate:
        command.revision(alembic_config(), message=args.message, rev_id=_next_rev_id())
        return 0
    if args.action == "revision":
        with tempfile.TemporaryDirectory() as scratch:
            url = args.database_url or f"sqlite+aiosqlite:///{Path(scratch) / 'draft.sqlite3'}"
            asyncio.run(_autogenerate_revision(url, args.message))
        return 0
    asyncio.run(_upgrade_or_show(args.action, args.database_url))
    return 0


async def _upgrade_or_show(action: str, database_url: str) -> None:
    url = normalise_url(database_url)
    await prepare_location(url)
    engine = create_engine(url)
    try:
        if action == "upgrade":
            await upgrade(engine)
        print(await current_revision(engine) or "(empty)")
    finally:
        await engine.dispose()
