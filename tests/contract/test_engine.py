"""How ``open_store`` reads database URLs and sets up each backend."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from livehandoff.errors import ConcurrentUpdate, ConfigurationError
from livehandoff.storage import open_store
from livehandoff.storage.engine import normalise_url
from livehandoff.storage.migrate import main

from .conftest import postgres_schema
from .factories import bare, message


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite+aiosqlite:///data/app.db", "sqlite+aiosqlite"),
        ("sqlite:///data/app.db", "sqlite+aiosqlite"),
        ("postgresql+asyncpg://u:p@db:5432/app", "postgresql+asyncpg"),
        ("postgresql://u:p@db:5432/app", "postgresql+asyncpg"),
        ("postgres://u:p@db:5432/app", "postgresql+asyncpg"),
    ],
)
def test_urls_are_normalised_to_the_async_drivers(given: str, driver: str) -> None:
    url = normalise_url(given)

    assert url.drivername == driver
    assert url.database in ("data/app.db", "app")


@pytest.mark.parametrize(
    "given", ["mysql://u:secret@db/app", "postgresql+psycopg://u:secret@db/app", "nonsense"]
)
def test_other_urls_are_a_configuration_error_that_hides_the_password(given: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        normalise_url(given)

    assert "secret" not in str(raised.value)


async def test_a_schema_is_refused_on_sqlite(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PostgreSQL"):
        await open_store(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}", schema="app")


async def test_a_memory_database_works_and_serialises_overlapping_calls() -> None:
    store = await open_store("sqlite+aiosqlite:///:memory:")
    try:
        await store.create(bare())
        outcomes = await asyncio.gather(
            *(store.save(bare(), [message(str(n))], expected_version=0) for n in range(4)),
            return_exceptions=True,
        )
        assert sum(isinstance(outcome, list) for outcome in outcomes) == 1
        assert sum(isinstance(outcome, ConcurrentUpdate) for outcome in outcomes) == 3
        assert [event.seq for event in await store.events_after("conv-1", 0)] == [1]
    finally:
        await store.close()


async def test_memory_databases_are_private_to_their_store() -> None:
    first = await open_store("sqlite+aiosqlite:///:memory:")
    second = await open_store("sqlite+aiosqlite:///:memory:")
    try:
        await first.create(bare())
        await second.create(bare())
    finally:
        await first.close()
        await second.close()


async def test_a_relative_sqlite_path_is_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    store = await open_store("sqlite+aiosqlite:///var/data/app.sqlite3")
    await store.close()

    assert (tmp_path / "var" / "data" / "app.sqlite3").is_file()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        async with store.engine.connect() as connection:
            pragmas = [
                (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            ]
    finally:
        await store.close()

    assert pragmas == ["wal", 1, 5000]


async def test_instances_opening_a_new_sqlite_file_at_once_all_get_wal(tmp_path: Path) -> None:
    # Switching a new file to WAL can fail at once, without waiting on the busy timeout, while another
    # connection opens it: each round races three openers on a fresh file.
    for round_ in range(20):
        url = f"sqlite+aiosqlite:///{tmp_path / f'race-{round_}.sqlite3'}"
        stores = await asyncio.gather(*(open_store(url) for _ in range(3)))
        try:
            async with stores[-1].engine.connect() as connection:
                assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        finally:
            for store in stores:
                await store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
async def test_plain_postgres_urls_connect_through_asyncpg(postgres_url: str, scheme: str) -> None:
    plain = scheme + postgres_url[postgres_url.index("://") :]
    async with postgres_schema(postgres_url) as schema:
        store = await open_store(plain, schema=schema)
        try:
            async with store.engine.connect() as connection:
                in_schema = (await connection.execute(text("SELECT current_schema()"))).scalar()
            assert in_schema == schema
            assert store.engine.dialect.driver == "asyncpg"
        finally:
            await store.close()


def test_the_migrate_command_upgrades_and_shows_the_revision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"

    assert main(["current", url]) == 0
    assert capsys.readouterr().out.strip() == "(empty)"
    assert main(["upgrade", url]) == 0
    assert capsys.readouterr().out.strip() == "0002"


@pytest.mark.postgres
async def test_a_missing_postgres_schema_is_a_configuration_error(postgres_url: str) -> None:
    with pytest.raises(ConfigurationError, match="schema"):
        await open_store(postgres_url, schema="livehandoff_test_no_such_schema")
