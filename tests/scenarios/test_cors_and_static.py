"""What a browser on another origin needs: CORS for configured origins only, and the widget's files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from livehandoff.devstack import Stack, run_stack

SHOP = "https://shop.example"
OTHER = "https://evil.example"


@pytest.fixture
async def shop_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'bridge.sqlite3'}"
    async with run_stack(database_url=database_url, allowed_origins=(SHOP,)) as running:
        yield running


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": method,
        "access-control-request-headers": "authorization, content-type, idempotency-key",
    }


async def test_a_configured_origin_may_call_the_customer_api(
    shop_stack: Stack, http: httpx.AsyncClient
) -> None:
    url = f"{shop_stack.bridge_url}/v1/conversations"
    allowed = await http.options(f"{url}/some-id/messages", headers=preflight(SHOP))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == SHOP
    assert {"authorization", "content-type", "idempotency-key"} <= {
        header.strip() for header in allowed.headers["access-control-allow-headers"].lower().split(",")
    }
    assert "access-control-allow-credentials" not in allowed.headers

    created = await http.post(url, headers={"origin": SHOP})
    assert created.status_code == 201
    assert created.headers["access-control-allow-origin"] == SHOP
    exposed = created.headers["access-control-expose-headers"].lower()
    assert {"idempotent-replayed", "retry-after"} <= {header.strip() for header in exposed.split(",")}

    refused = await http.get(
        f"{url}/{created.json()['id']}/events", headers={"origin": SHOP, "authorization": "Bearer wrong"}
    )
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == SHOP, "errors are readable by the page too"


async def test_another_origin_gets_no_cors_headers(shop_stack: Stack, http: httpx.AsyncClient) -> None:
    url = f"{shop_stack.bridge_url}/v1/conversations"
    denied = await http.options(url, headers=preflight(OTHER))
    assert denied.status_code == 400
    assert "access-control-allow-origin" not in denied.headers

    created = await http.post(url, headers={"origin": OTHER})
    assert "access-control-allow-origin" not in created.headers


async def test_without_configured_origins_nobody_gets_cors_headers(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    created = await http.post(f"{stack.bridge_url}/v1/conversations", headers={"origin": SHOP})
    assert created.status_code == 201
    assert "access-control-allow-origin" not in created.headers


async def test_the_widget_and_the_demo_shop_are_served(stack: Stack, http: httpx.AsyncClient) -> None:
    widget = await http.get(f"{stack.bridge_url}/static/widget.js")
    assert widget.status_code == 200
    assert "javascript" in widget.headers["content-type"]
    assert "customElements.define(TAG, LivehandoffChat)" in widget.text

    shop = await http.get(stack.describe()["customer_page"])
    assert shop.status_code == 200
    assert shop.headers["content-type"].startswith("text/html")
    assert '<script src="/static/widget.js"' in shop.text

    console = await http.get(stack.describe()["agent_console"])
    assert console.status_code == 200
    assert "Agent console" in console.text
    assert "/demo" not in (await http.get(f"{stack.bridge_url}/openapi.json")).text
