"""What a production bridge shows: no demo page, and no customer data in SQL logs or database errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from livehandoff.config import Settings
from livehandoff.storage.engine import create_engine, normalise_url
from livehandoff.web.app import create_app

CUSTOMER_TEXT = "my card number is 4111 1111 1111 1111"


async def get(settings: Settings, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://bridge.test") as http:
        return await http.get(path)


async def test_a_deployment_serves_no_demo_page() -> None:
    assert (await get(Settings(), "/demo")).status_code == 404


async def test_the_demo_turns_its_shop_page_on() -> None:
    shop = await get(Settings(demo_page=True), "/demo")
    assert shop.status_code == 200
    assert '<script src="/static/widget.js"' in shop.text


@pytest.mark.parametrize("where", ["file", "memory"])
async def test_a_failed_statement_does_not_quote_its_parameters(tmp_path: Path, where: str) -> None:
    """Its message ends up in tracebacks and logs, where message texts, names and token hashes must not."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}" if where == "file" else "sqlite+aiosqlite://"
    engine = create_engine(normalise_url(url))
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as failed:
                await connection.execute(text("INSERT INTO missing VALUES (:text)"), {"text": CUSTOMER_TEXT})
    finally:
        await engine.dispose()
    assert CUSTOMER_TEXT not in str(failed.value)
    assert "SQL parameters hidden" in str(failed.value)
