"""The schema comes from the packaged Alembic scripts, agrees with ``tables.py`` and upgrades idempotently."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from livehandoff.storage import SqlStore, current_revision, head_revision
from livehandoff.storage.migrate import alembic_config, upgrade
from livehandoff.storage.tables import metadata

from .conftest import Backend
from .factories import bare, message

TABLES = {"conversations", "events", "desk_chats", "processed_events", "outbox", "leases"}


def differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def downgrade_to_base(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


async def test_a_new_store_is_at_the_newest_revision(store: SqlStore) -> None:
    assert head_revision() == "0002"
    assert await current_revision(store.engine) == head_revision()


async def test_the_migrations_build_exactly_the_tables_of_tables_py(store: SqlStore) -> None:
    async with store.engine.connect() as connection:
        assert await connection.run_sync(differences) == []
        assert await connection.run_sync(table_names) >= TABLES


async def test_opening_again_keeps_the_data_and_the_revision(backend: Backend) -> None:
    first = await backend.open()
    try:
        await first.create(bare())
        await first.save(bare(), [message("kept")], expected_version=0, dedupe_key="k")
    finally:
        await first.close()

    second = await backend.open()
    try:
        await upgrade(second.engine)
        assert (await second.load("conv-1")).last_seq == 1
        assert await second.seen("k")
        assert await current_revision(second.engine) == head_revision()
    finally:
        await second.close()


async def test_instances_starting_together_all_migrate(backend: Backend) -> None:
    stores = await asyncio.gather(*(backend.open() for _ in range(3)))
    try:
        await stores[0].create(bare())
        assert [(await store.load("conv-1")).id for store in stores] == ["conv-1"] * 3
    finally:
        for store in stores:
            await store.close()


async def test_downgrade_to_base_and_upgrade_again(store: SqlStore) -> None:
    async with store.engine.begin() as connection:
        await connection.run_sync(downgrade_to_base)
    async with store.engine.connect() as connection:
        assert not TABLES & await connection.run_sync(table_names)
    assert await current_revision(store.engine) is None

    await upgrade(store.engine)

    await store.create(bare())
    assert await current_revision(store.engine) == head_revision()
