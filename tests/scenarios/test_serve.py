"""``livehandoff serve`` as an operator runs it: a subprocess configured by environment variables, with the
LiveChat emulator on a loopback port."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from livehandoff.devstack import bind, serve
from livehandoff.emulators.livechat import Credentials, LiveChatEmulator
from tests.scenarios.test_cli import CLI, environment, free_port, run_cli

WEBHOOK_SECRET = "serve-webhook-secret-31f9"


@asynccontextmanager
async def livechat() -> AsyncIterator[tuple[str, LiveChatEmulator]]:
    emulator = LiveChatEmulator()
    try:
        async with serve(emulator.app, bind("127.0.0.1", 0)) as url:
            yield url, emulator
    finally:
        await emulator.aclose()


def bridge_env(tmp_path: Path, livechat_url: str, creds: Credentials, **extra: str) -> dict[str, str]:
    values = {
        "LIVEHANDOFF_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bridge.sqlite3'}",
        "LIVEHANDOFF_PORT": str(free_port()),
        "LIVEHANDOFF_LIVECHAT_API_URL": livechat_url,
        "LIVEHANDOFF_LIVECHAT_ACCOUNTS_URL": livechat_url,
        "LIVEHANDOFF_LIVECHAT_CLIENT_ID": creds.client_id,
        "LIVEHANDOFF_LIVECHAT_CLIENT_SECRET": creds.client_secret,
        "LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN": creds.refresh_token,
        "LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        # Never contacted at start-up; an endpoint of our own keeps Google's credential lookup out of it.
        "LIVEHANDOFF_DIALOGFLOW_API_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    }
    return environment(**{**values, **extra})


async def test_invalid_settings_stop_serve_before_it_touches_the_database(tmp_path: Path) -> None:
    database = tmp_path / "bridge.sqlite3"
    env = environment(
        LIVEHANDOFF_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        LIVEHANDOFF_PUBLIC_URL="bridge.example.com",
        LIVEHANDOFF_HANDOFF_NAMES="handoff,talk_to_agent",
    )
    code, _, err = await run_cli("serve", env=env, cwd=tmp_path)
    assert code == 2
    lines = err.decode().splitlines()
    assert lines[0] == (
        "livehandoff serve: LIVEHANDOFF_PUBLIC_URL: must be an http:// or https:// URL such as "
        "https://livehandoff.example.com"
    )
    assert b"Traceback" not in err
    assert not database.exists()

    code, _, err = await run_cli(
        "serve", env={**env, "LIVEHANDOFF_PUBLIC_URL": "https://b.example"}, cwd=tmp_path
    )
    assert code == 2
    assert [line.split(": ")[1] for line in err.decode().splitlines()] == [
        "LIVEHANDOFF_LIVECHAT_CLIENT_ID",
        "LIVEHANDOFF_LIVECHAT_CLIENT_SECRET",
        "LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN",
        "LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET",
    ]
    assert not database.exists()


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        (
            {"LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN": "not-the-refresh-token"},
            "check LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN",
        ),
        (
            {"LIVEHANDOFF_LIVECHAT_CLIENT_SECRET": "not-the-client-secret"},
            "check LIVEHANDOFF_LIVECHAT_CLIENT_ID and LIVEHANDOFF_LIVECHAT_CLIENT_SECRET",
        ),
        (
            {"LIVEHANDOFF_LIVECHAT_ACCOUNTS_URL": "http://127.0.0.1:{port}"},
            "check LIVEHANDOFF_LIVECHAT_API_URL",
        ),
    ],
)
async def test_a_failed_start_is_one_line_naming_the_fix(
    tmp_path: Path, wrong: dict[str, str], named: str
) -> None:
    async with livechat() as (url, emulator):
        values = {name: value.format(port=free_port()) for name, value in wrong.items()}
        env = bridge_env(tmp_path, url, emulator.credentials, **values)
        code, _, err = await run_cli("serve", env=env, cwd=tmp_path)
    assert code == 1
    last = err.decode().splitlines()[-1]
    assert last.startswith("livehandoff serve: cannot start: LiveChat")
    assert named in last
    assert b"Traceback" not in err
    for secret in ("not-the-refresh-token", "not-the-client-secret", emulator.credentials.client_secret):
        assert secret.encode() not in err


async def test_a_database_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    async with livechat() as (url, emulator):
        env = bridge_env(
            tmp_path,
            url,
            emulator.credentials,
            LIVEHANDOFF_DATABASE_URL=f"postgresql+asyncpg://bridge:pw@127.0.0.1:{free_port()}/livehandoff",
        )
        code, _, err = await run_cli("serve", env=env, cwd=tmp_path)
    assert code == 1
    last = err.decode().splitlines()[-1]
    assert last.startswith("livehandoff serve: cannot start: the database could not be opened (")
    assert last.endswith("check LIVEHANDOFF_DATABASE_URL")
    assert b"Traceback" not in err


@asynccontextmanager
async def running(env: dict[str, str], cwd: Path) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """``livehandoff serve`` until the block ends; yields its URL once it answers."""
    process = await asyncio.create_subprocess_exec(
        *CLI, "serve", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=cwd
    )
    url = f"http://127.0.0.1:{env['LIVEHANDOFF_PORT']}"
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            async with asyncio.timeout(30):
                while True:
                    assert process.returncode is None, "serve stopped"
                    try:
                        if (await http.get(f"{url}/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
        yield url, process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), timeout=30)


@pytest.mark.skipif(sys.platform == "win32", reason="signals")
@pytest.mark.parametrize(("trusted", "expected"), [("", [401, 401, 429]), ("127.0.0.1", [401, 401, 401])])
async def test_serve_believes_forwarded_headers_from_named_proxies_only(
    tmp_path: Path, trusted: str, expected: list[int]
) -> None:
    async with livechat() as (url, emulator):
        env = bridge_env(
            tmp_path,
            url,
            emulator.credentials,
            LIVEHANDOFF_RATE_LIMIT_PER_CLIENT="2",
            LIVEHANDOFF_TRUSTED_PROXIES=trusted,
        )
        async with running(env, tmp_path) as (bridge, process), httpx.AsyncClient(timeout=5) as http:
            statuses = [
                (
                    await http.get(
                        f"{bridge}/v1/conversations/none", headers={"x-forwarded-for": f"198.51.100.{n}"}
                    )
                ).status_code
                for n in range(3)
            ]
        assert statuses == expected
    assert process.returncode == 0


async def test_serve_warns_loudly_about_settings_it_can_run_with(tmp_path: Path) -> None:
    async with livechat() as (url, emulator):
        env = bridge_env(
            tmp_path,
            url,
            emulator.credentials,
            LIVEHANDOFF_LIVECHAT_REGISTER_WEBHOOKS="false",
            LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET="",
            LIVEHANDOFF_LOG_FORMAT="json",
        )
        async with running(env, tmp_path) as (_, process):
            pass
        assert process.stderr is not None
        err = (await process.stderr.read()).decode()
    warned = [line for line in err.splitlines() if '"settings.warning"' in line]
    assert len(warned) == 2
    assert '"variable": "LIVEHANDOFF_PUBLIC_URL"' in warned[0]
    assert '"level": "warning"' in warned[0]
    assert '"variable": "LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET"' in warned[1]
    assert "every LiveChat webhook will be refused" in warned[1]
