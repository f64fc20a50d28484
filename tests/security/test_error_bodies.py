"""Every error leaves in the one JSON error body: a server error, a refused CORS preflight, a body that is
not JSON; and a server error is logged without what the request carried."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from tests.security.conftest import InProcess, in_process

SHOP = "https://shop.example"
NAME = "Customer Name That Must Not Be Logged"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[InProcess]:
    async with in_process(tmp_path, allowed_origins=(SHOP,)) as running:
        yield running


def assert_error(response: httpx.Response, status: int, error_type: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["type"] == error_type, response.text
    message: str = error["message"]
    return message


async def test_a_server_error_is_json_and_logs_none_of_the_request(
    world: InProcess, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with sqlite3.connect(tmp_path / "bridge.sqlite3") as database:
        database.execute("DROP TABLE conversations")
    body = {"customer": {"name": NAME}}
    with capture_logs() as logs:
        async with world.client() as bridge:
            response = await bridge.post("/v1/conversations", json=body, headers={"origin": SHOP})

    assert assert_error(response, 500, "internal") == "the request failed on our side"
    assert response.headers["access-control-allow-origin"] == SHOP, "a page can read it"
    (failed,) = [entry for entry in logs if entry["event"] == "request.failed"]
    assert failed["log_level"] == "error"
    assert (failed["method"], failed["path"]) == ("POST", "/v1/conversations")
    assert "OperationalError" in failed["error"]
    assert "create_conversation" in failed["frames"], "where it failed is logged"
    assert NAME not in repr(logs)
    assert NAME not in caplog.text


async def test_a_refused_cors_preflight_is_json(world: InProcess) -> None:
    preflight = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}
    async with world.client() as bridge:
        allowed = await bridge.options("/v1/conversations", headers={"origin": SHOP, **preflight})
        refused = await bridge.options(
            "/v1/conversations", headers={"origin": "https://evil.example", **preflight}
        )
        wrong_method = await bridge.options(
            "/v1/conversations",
            headers={"origin": "https://evil.example", "access-control-request-method": "DELETE"},
        )

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == SHOP
    assert assert_error(refused, 400, "bad_request") == "CORS preflight refused: origin not allowed"
    assert "access-control-allow-origin" not in refused.headers
    assert refused.headers["access-control-allow-methods"] == "GET, POST"
    assert (
        assert_error(wrong_method, 400, "bad_request") == "CORS preflight refused: origin, method not allowed"
    )


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"{", "application/json", "the body is not valid JSON"),
        (b"\xff\xfe{}", "application/json", "the body is not valid JSON"),
        (b"hello", "text/plain", "the body must be JSON, sent with Content-Type: application/json"),
        (b'{"text": "hi"}', "text/plain", "the body must be JSON, sent with Content-Type: application/json"),
        (b"hello", None, "the body must be JSON, sent with Content-Type: application/json"),
    ],
)
@pytest.mark.parametrize("path", ["", "/messages", "/delivered"])
async def test_a_body_that_is_not_json_is_a_bad_request(
    world: InProcess, path: str, content: bytes, content_type: str | None, message: str
) -> None:
    async with world.client() as bridge:
        created = (await bridge.post("/v1/conversations")).json()
        headers = {"authorization": f"Bearer {created['token']}"}
        if content_type:
            headers["content-type"] = content_type
        url = f"/v1/conversations/{created['id']}{path}" if path else "/v1/conversations"
        response = await bridge.post(url, content=content, headers=headers)
    assert assert_error(response, 400, "bad_request") == message


@pytest.mark.parametrize("body", ['"hi"', "[]", '{"text": 5}'])
async def test_json_of_the_wrong_shape_is_still_invalid(world: InProcess, body: Any) -> None:
    async with world.client() as bridge:
        created = (await bridge.post("/v1/conversations")).json()
        headers = {"authorization": f"Bearer {created['token']}", "content-type": "application/json"}
        response = await bridge.post(
            f"/v1/conversations/{created['id']}/messages", content=body, headers=headers
        )
    assert_error(response, 422, "validation")
