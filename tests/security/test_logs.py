"""What a production bridge shows: no demo page, logs in the chosen format, no customer data in SQL logs."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from livehandoff.config import Settings
from livehandoff.storage.engine import create_engine, normalise_url
from livehandoff.web.app import create_app
from tests.security.production_logs import json_lines, production_logs

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


async def test_debug_logs_show_no_sql_parameters(tmp_path: Path) -> None:
    """aiosqlite logs each statement with its parameters at DEBUG; LIVEHANDOFF_LOG_LEVEL=DEBUG must not."""
    engine = create_engine(normalise_url(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"))
    with production_logs("DEBUG", "console") as output:
        try:
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE said (text TEXT)"))
                await connection.execute(text("INSERT INTO said VALUES (:text)"), {"text": CUSTOMER_TEXT})
                logging.getLogger("livehandoff.test").debug("stored")
        finally:
            await engine.dispose()
    assert "stored" in output.getvalue(), "DEBUG lines were written"
    assert CUSTOMER_TEXT not in output.getvalue()


def test_json_logs_are_one_object_per_line_for_every_logger() -> None:
    with production_logs("INFO", "json") as output:
        structlog.get_logger("livehandoff.test").info("conversation.created", conversation_id="c-1")
        logging.getLogger("alembic.runtime.migration").info("Running upgrade %s -> %s", "", "0001")
        logging.getLogger("livehandoff.test").debug("not at INFO")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            structlog.get_logger("livehandoff.test").exception("bridge.step_failed")
    ours, theirs, failed = json_lines(output)
    assert ours == {
        "event": "conversation.created",
        "conversation_id": "c-1",
        "level": "info",
        "timestamp": ours["timestamp"],
    }
    assert theirs["event"] == "Running upgrade  -> 0001"
    assert (theirs["logger"], theirs["level"]) == ("alembic.runtime.migration", "info")
    assert failed["level"] == "error"
    assert "RuntimeError: boom" in failed["exception"]


def test_console_logs_are_the_default() -> None:
    with production_logs("WARNING", "console") as output:
        structlog.get_logger("livehandoff.test").info("not at WARNING")
        structlog.get_logger("livehandoff.test").warning("webhooks.secret_missing", variable="X")
        logging.getLogger("sqlalchemy.engine.Engine").info("SELECT 1")
    (line,) = output.getvalue().splitlines()
    assert "[warning  ] webhooks.secret_missing" in line
    assert "variable=X" in line
