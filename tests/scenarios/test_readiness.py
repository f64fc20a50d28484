"""``GET /readyz``: the database answers and is migrated, and LiveChat gives the bridge an agent token."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from livehandoff.storage import head_revision
from livehandoff.storage.engine import normalise_url
from tests.contract.conftest import POSTGRES_SKIP_REASON, POSTGRES_URL_VARIABLE, postgres_database
from tests.security.conftest import InProcess, in_process

UNREGISTERED = {"livechat_register_webhooks": False}
"""Start-up registers webhooks with an agent token; without registration the first token is /readyz's."""


async def readyz(world: InProcess) -> httpx.Response:
    async with world.client() as bridge:
        return await bridge.get("/readyz")


def not_ready(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == "not_ready"
    return error


async def test_ready_when_the_database_and_livechat_are(tmp_path: Path) -> None:
    async with in_process(tmp_path) as world:
        response = await readyz(world)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "livechat": "ok"}}


async def test_not_ready_when_the_database_is_not_at_this_versions_revision(tmp_path: Path) -> None:
    async with in_process(tmp_path) as world:
        with sqlite3.connect(tmp_path / "bridge.sqlite3") as database:
            database.execute("UPDATE alembic_version SET version_num = '0001'")
        behind = not_ready(await readyz(world))
        with sqlite3.connect(tmp_path / "bridge.sqlite3") as database:
            database.execute("DROP TABLE alembic_version")
        empty = not_ready(await readyz(world))

    assert behind["message"] == "not ready: database"
    assert behind["checks"] == {
        "database": f"not migrated: at revision 0001, this version needs {head_revision()}",
        "livechat": "ok",
    }
    assert (
        empty["checks"]["database"] == f"not migrated: at revision none, this version needs {head_revision()}"
    )


async def test_not_ready_when_livechat_refuses_the_refresh_token(tmp_path: Path) -> None:
    async with in_process(tmp_path, livechat_refresh_token="not-the-refresh-token", **UNREGISTERED) as world:
        error = not_ready(await readyz(world))
    assert error["message"] == "not ready: livechat"
    assert error["checks"]["database"] == "ok"
    assert error["checks"]["livechat"].startswith("agent token refused (invalid_grant): check")
    assert "not-the-refresh-token" not in str(error)


async def test_not_ready_while_livechat_cannot_be_reached_and_ready_again_after(tmp_path: Path) -> None:
    async with in_process(tmp_path, **UNREGISTERED) as world, world.livechat() as livechat:
        agent = (world.emulator.credentials.agent_account_id, world.emulator.credentials.agent_pat)
        outage = {"accounts": {"error_rate": 1.0, "errors": ["temporarily_unavailable"]}}
        assert (await livechat.post("/emulator/faults", json=outage, auth=agent)).status_code == 200
        error = not_ready(await readyz(world))
        assert (await livechat.delete("/emulator/faults", auth=agent)).status_code == 200
        recovered = await readyz(world)

    assert error["checks"]["livechat"].startswith("agent token unavailable")
    assert recovered.status_code == 200, recovered.text


async def test_not_ready_when_postgresql_refuses_connections(tmp_path: Path) -> None:
    server = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server:
        pytest.skip(POSTGRES_SKIP_REASON)
    async with postgres_database(server) as url:
        name = make_url(url).database
        admin = create_async_engine(normalise_url(server), poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            async with in_process(tmp_path, database_url=url) as world:
                assert (await readyz(world)).status_code == 200
                async with admin.connect() as connection:
                    await connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
                    await connection.execute(
                        text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                        {"name": name},
                    )
                error = not_ready(await readyz(world))
                async with admin.connect() as connection:
                    await connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        finally:
            await admin.dispose()

    assert error["checks"]["database"].startswith("unreachable (")
    assert name not in str(error)
