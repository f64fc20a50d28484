"""The stand-in login page with PKCE: a code asked for with a ``code_challenge`` needs its verifier."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from livehandoff.emulators.livechat import LiveChatEmulator

REDIRECT = "http://127.0.0.1:8765/callback"
VERIFIER = "a-verifier-of-enough-length-for-pkce-0123456789abcdef"


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture
async def accounts() -> AsyncIterator[tuple[httpx.AsyncClient, LiveChatEmulator]]:
    emulator = LiveChatEmulator()
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://accounts.test") as http:
        yield http, emulator
    await emulator.aclose()


async def code_for(http: httpx.AsyncClient, emulator: LiveChatEmulator, **extra: str) -> str:
    query = {
        "response_type": "code",
        "client_id": emulator.credentials.client_id,
        "redirect_uri": REDIRECT,
        "state": "s",
        **extra,
    }
    login = await http.get("/", params=query)
    assert login.status_code == 302, login.text
    return parse_qs(urlsplit(login.headers["location"]).query)["code"][0]


async def redeem(
    http: httpx.AsyncClient, emulator: LiveChatEmulator, code: str, **extra: str
) -> httpx.Response:
    creds = emulator.credentials
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "redirect_uri": REDIRECT,
        **extra,
    }
    return await http.post("/v2/token", data=form)


async def test_the_verifier_redeems_its_code(accounts: tuple[httpx.AsyncClient, LiveChatEmulator]) -> None:
    http, emulator = accounts
    code = await code_for(http, emulator, code_challenge=challenge(VERIFIER), code_challenge_method="S256")
    answer = await redeem(http, emulator, code, code_verifier=VERIFIER)
    assert answer.status_code == 200
    assert answer.json()["refresh_token"] == emulator.credentials.refresh_token


@pytest.mark.parametrize("verifier", [None, "another-verifier-of-enough-length-0123456789abcdef"])
async def test_a_code_without_its_verifier_is_refused(
    accounts: tuple[httpx.AsyncClient, LiveChatEmulator], verifier: str | None
) -> None:
    http, emulator = accounts
    code = await code_for(http, emulator, code_challenge=challenge(VERIFIER), code_challenge_method="S256")
    answer = await redeem(http, emulator, code, **({"code_verifier": verifier} if verifier else {}))
    assert answer.status_code == 400
    assert answer.json() == {
        "oauth_exception": "invalid_grant",
        "exception_description": "code_verifier does not match the code_challenge",
    }


async def test_only_s256_challenges_are_taken(accounts: tuple[httpx.AsyncClient, LiveChatEmulator]) -> None:
    http, emulator = accounts
    query = {
        "response_type": "code",
        "client_id": emulator.credentials.client_id,
        "redirect_uri": REDIRECT,
        "code_challenge": VERIFIER,
    }
    login = await http.get("/", params=query)
    assert login.status_code == 400
    assert login.json()["oauth_exception"] == "invalid_request"


async def test_a_code_without_a_challenge_needs_no_verifier(
    accounts: tuple[httpx.AsyncClient, LiveChatEmulator],
) -> None:
    http, emulator = accounts
    answer = await redeem(http, emulator, await code_for(http, emulator))
    assert answer.status_code == 200
