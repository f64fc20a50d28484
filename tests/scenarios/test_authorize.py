"""``livehandoff livechat authorize``: LiveChat's authorization code grant from a terminal, end to end against
the emulator's stand-in login page. The loopback listener is real; a "browser" follows the redirects."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from livehandoff.devstack import bind, serve
from livehandoff.emulators.livechat import LiveChatEmulator
from livehandoff.errors import DeskAuthError
from livehandoff.integrations.livechat import LiveChatClient
from livehandoff.integrations.livechat.authorize import Authorization, AuthorizationFailed, authorize, covers
from tests.scenarios.test_cli import CLI, environment, free_port

ACCOUNTS = "http://accounts.test"


@pytest.fixture
async def emulator() -> AsyncIterator[LiveChatEmulator]:
    emulator = LiveChatEmulator()
    yield emulator
    await emulator.aclose()


@pytest.fixture
async def livechat(emulator: LiveChatEmulator) -> AsyncIterator[LiveChatClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app)) as http:
        yield LiveChatClient(http, api_url=ACCOUNTS, accounts_url=ACCOUNTS)


async def sign_in(emulator: LiveChatEmulator, url: str, **changes: str) -> httpx.Response:
    """What the person's browser does: the login page, then wherever it redirects (``changes`` edit that)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app)) as accounts:
        login = await accounts.get(url)
    assert login.status_code == 302, login.text
    target = httpx.URL(login.headers["location"])
    query = {**dict(target.params), **changes}
    async with httpx.AsyncClient() as loopback:  # the real listener on 127.0.0.1
        return await loopback.get(target.copy_with(params=query))


async def run(
    livechat: LiveChatClient,
    emulator: LiveChatEmulator,
    show: Callable[[str], Awaitable[None]],
    *,
    client_secret: str | None = None,
    wait_seconds: float = 10,
) -> Authorization:
    creds = emulator.credentials
    return await authorize(
        livechat,
        client_id=creds.client_id,
        client_secret=client_secret or creds.client_secret,
        show=show,
        port=free_port(),
        wait_seconds=wait_seconds,
    )


async def test_the_flow_yields_the_settings(livechat: LiveChatClient, emulator: LiveChatEmulator) -> None:
    shown: list[str] = []
    pages: list[httpx.Response] = []

    async def browser(url: str) -> None:
        shown.append(url)
        pages.append(await sign_in(emulator, url))

    done = await run(livechat, emulator, browser)
    creds = emulator.credentials
    assert (done.refresh_token, done.organization_id, done.license_id) == (
        creds.refresh_token,
        creds.organization_id,
        creds.license_id,
    )
    assert done.account_id == creds.agent_account_id
    assert {"customers:own", "webhooks.configuration:rw", "groups--all:ro"} <= set(done.scopes)
    assert pages[0].status_code == 200
    assert "You can close this tab" in pages[0].text
    query = parse_qs(urlsplit(shown[0]).query)
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"][0].startswith("http://127.0.0.1:")
    assert query["redirect_uri"][0].endswith("/callback")
    assert query["code_challenge_method"] == ["S256"]
    assert "refresh" not in repr(done)


async def test_an_answer_with_another_state_is_refused(
    livechat: LiveChatClient, emulator: LiveChatEmulator
) -> None:
    refused: list[httpx.Response] = []

    async def browser(url: str) -> None:
        refused.append(await sign_in(emulator, url, state="forged"))
        await sign_in(emulator, url)

    done = await run(livechat, emulator, browser)
    assert refused[0].status_code == 400
    assert done.refresh_token == emulator.credentials.refresh_token


async def test_an_error_from_the_login_page_fails_the_flow(
    livechat: LiveChatClient, emulator: LiveChatEmulator
) -> None:
    """An agent who does not allow the app is sent back with ``error`` and no code."""

    async def refusing(url: str) -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app)) as accounts:
            login = await accounts.get(url)
        target = httpx.URL(login.headers["location"])
        state = target.params["state"]
        async with httpx.AsyncClient() as loopback:
            await loopback.get(
                target.copy_with(params={"state": state, "error": "access_denied", "error_description": "no"})
            )

    with pytest.raises(AuthorizationFailed, match="the login page answered access_denied: no"):
        await run(livechat, emulator, refusing)


async def test_a_wrong_client_secret_is_refused_at_the_token_endpoint(
    livechat: LiveChatClient, emulator: LiveChatEmulator
) -> None:
    async def browser(url: str) -> None:
        await sign_in(emulator, url)

    with pytest.raises(DeskAuthError) as refused:
        await run(livechat, emulator, browser, client_secret="not-the-client-secret")
    assert refused.value.error_type == "invalid_client"
    assert "not-the-client-secret" not in str(refused.value)


async def test_no_answer_in_time_fails(livechat: LiveChatClient, emulator: LiveChatEmulator) -> None:
    async def nobody(url: str) -> None:
        async with httpx.AsyncClient() as loopback:
            port = httpx.URL(parse_qs(urlsplit(url).query)["redirect_uri"][0]).port
            assert (await loopback.get(f"http://127.0.0.1:{port}/favicon.ico")).status_code == 404

    with pytest.raises(AuthorizationFailed, match="no answer from the login page within 0 seconds"):
        await run(livechat, emulator, nobody, wait_seconds=0.2)


async def test_the_command_prints_the_settings(tmp_path: Path, emulator: LiveChatEmulator) -> None:
    """``livehandoff livechat authorize`` in a subprocess, the emulator on a loopback port."""
    port = free_port()
    async with serve(emulator.app, bind("127.0.0.1", 0)) as url:
        creds = emulator.credentials
        env = environment(
            LIVEHANDOFF_LIVECHAT_API_URL=url,
            LIVEHANDOFF_LIVECHAT_ACCOUNTS_URL=url,
            LIVEHANDOFF_LIVECHAT_CLIENT_ID=creds.client_id,
            LIVEHANDOFF_LIVECHAT_CLIENT_SECRET=creds.client_secret,
        )
        process = await asyncio.create_subprocess_exec(
            *CLI,
            "livechat",
            "authorize",
            "--port",
            str(port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        assert process.stderr is not None
        async with asyncio.timeout(60):
            while not (line := (await process.stderr.readline()).decode()).startswith(f"  {url}/?"):
                assert line, "the command ended without showing the login page"
        async with httpx.AsyncClient() as browser:
            login = await browser.get(line.strip())
            assert login.headers["location"].startswith(f"http://127.0.0.1:{port}/callback?")
            page = await browser.get(login.headers["location"])
            assert page.status_code == 200
        out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0
    assert out.decode().splitlines() == [
        f"LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN={creds.refresh_token}",
        f"LIVEHANDOFF_LIVECHAT_ORGANIZATION_ID={creds.organization_id}",
        f"LIVEHANDOFF_LIVECHAT_LICENSE_ID={creds.license_id}",
    ]


async def test_the_command_needs_the_app_credentials(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        *CLI,
        "livechat",
        "authorize",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment(),
        cwd=tmp_path,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    assert out == b""
    assert err.decode().splitlines() == [
        "livehandoff livechat authorize: LIVEHANDOFF_LIVECHAT_CLIENT_ID: required for this command",
        "livehandoff livechat authorize: LIVEHANDOFF_LIVECHAT_CLIENT_SECRET: required for this command",
    ]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("granted", "required", "expected"),
    [
        ("groups--all:rw", "groups--all:ro", True),
        ("groups--access:ro", "groups--all:ro", False),
        ("webhooks.configuration:ro", "webhooks.configuration:rw", False),
        ("customers:own", "customers:own", True),
        ("customers:rw", "customers:own", False),
        ("chats--all:rw", "chats:rw", False),
    ],
)
def test_which_granted_scope_covers_a_required_one(granted: str, required: str, expected: bool) -> None:
    """``rw`` covers ``ro`` and ``--all`` covers ``--access`` (reference §1.4); nothing else stands in."""
    assert covers(frozenset({granted}), required) is expected
