"""``X-Forwarded-For`` is believed only from LIVEHANDOFF_TRUSTED_PROXIES.

uvicorn's defaults believe it from any local peer, so a client on the bridge's machine (or behind a proxy
that passes the header on) could pick a new address, and a new rate-limit budget, for every request.
The app is run the way ``livehandoff serve`` runs it: wrapped as :func:`server.uvicorn_config` wraps it.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from livehandoff.check import InvalidSettings, load_settings
from livehandoff.config import Settings
from livehandoff.server import uvicorn_config
from tests.security.conftest import BRIDGE, in_process


async def who(request: Request) -> PlainTextResponse:
    client = request.client
    return PlainTextResponse(f"{client.host if client else '?'} {request.url.scheme}")


WHO = Starlette(routes=[Route("/", who)])


def served(app: ASGIApp, settings: Settings) -> ASGIApp:
    """``app`` as uvicorn runs it for ``serve``, middlewares included."""
    config = uvicorn_config(app, settings, host="127.0.0.1", port=8000)
    config.load()
    return config.loaded_app


async def seen(settings: Settings, peer: str, forwarded: str) -> str:
    transport = httpx.ASGITransport(app=served(WHO, settings), client=(peer, 5000))
    async with httpx.AsyncClient(transport=transport, base_url=BRIDGE) as http:
        headers = {"x-forwarded-for": forwarded, "x-forwarded-proto": "https"}
        return (await http.get("/", headers=headers)).text


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1", "10.0.0.5"])
async def test_by_default_no_forwarded_header_is_believed(peer: str) -> None:
    assert await seen(Settings(), peer, "198.51.100.7") == f"{peer} http"


@pytest.mark.parametrize(
    ("trusted", "peer", "expected"),
    [
        ("10.0.0.5", "10.0.0.5", "198.51.100.7 https"),
        ("10.0.0.0/8,192.168.1.1", "10.20.30.40", "198.51.100.7 https"),
        ("10.0.0.0/8", "127.0.0.1", "127.0.0.1 http"),
        ("::1", "::1", "198.51.100.7 https"),
    ],
)
async def test_forwarded_headers_are_believed_from_the_named_proxies_only(
    trusted: str, peer: str, expected: str
) -> None:
    assert await seen(Settings(trusted_proxies=trusted), peer, "198.51.100.7") == expected


async def test_a_made_up_header_does_not_buy_a_new_rate_limit_budget(tmp_path: Path) -> None:
    async with in_process(tmp_path, rate_limit_per_client=2) as world:
        transport = httpx.ASGITransport(app=served(world.app, world.settings), client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url=BRIDGE) as http:
            statuses = [
                (
                    await http.post("/v1/conversations", headers={"x-forwarded-for": f"198.51.100.{n}"})
                ).status_code
                for n in range(3)
            ]
    assert statuses == [201, 201, 429]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("*", "LIVEHANDOFF_TRUSTED_PROXIES: '*' would let every client choose its own address"),
        ("proxy.internal", "LIVEHANDOFF_TRUSTED_PROXIES: 'proxy.internal' is not an IP address or network"),
    ],
)
def test_trusted_proxies_are_addresses_or_networks(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("LIVEHANDOFF_TRUSTED_PROXIES", value)
    with pytest.raises(InvalidSettings) as invalid:
        load_settings()
    (problem,) = invalid.value.problems
    assert str(problem).startswith(expected)
