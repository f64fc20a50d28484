"""The command line, run as a user runs it: in a subprocess, on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from livehandoff.devstack import bind

CLI = [sys.executable, "-m", "livehandoff"]


def free_port() -> int:
    sock = bind("127.0.0.1", 0)
    port: int = sock.getsockname()[1]
    sock.close()
    return port


async def test_demo_json_prints_the_urls_and_credentials_first(tmp_path: Path) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *CLI,
        "demo",
        "--json",
        "--port",
        str(port),
        "--database-url",
        f"sqlite+aiosqlite:///{tmp_path}/demo.db",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        first = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        info = json.loads(first)
        assert info["bridge_url"] == f"http://127.0.0.1:{port}"
        for key in ("livechat_url", "dialogflow_url", "organization_id"):
            assert info[key]
        assert set(info["agent"]) >= {"account_id", "pat", "name"}
        assert set(info["oauth"]) >= {"client_id", "client_secret", "refresh_token"}
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.get(f"{info['bridge_url']}/healthz")).json() == {"status": "ok"}
            created = await http.post(f"{info['bridge_url']}/v1/conversations")
            assert created.status_code == 201
            listed = await http.post(
                f"{info['livechat_url']}/v3.6/agent/action/list_chats",
                json={},
                auth=(info["agent"]["account_id"], info["agent"]["pat"]),
            )
            assert listed.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), timeout=30)
    assert process.returncode == 0


async def test_check_prints_the_configuration_without_secrets() -> None:
    env = {
        **os.environ,
        "LIVEHANDOFF_LIVECHAT_CLIENT_SECRET": "very-secret-value",
        "LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET": "another-secret",
    }
    process = await asyncio.create_subprocess_exec(
        *CLI, "check", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err
    assert b"very-secret-value" not in out + err
    assert b"another-secret" not in out + err
    shown = json.loads(out)
    assert shown["livechat_client_secret"] == "**********"
    assert shown["livechat_refresh_token"] == ""


async def test_invalid_configuration_is_refused_with_a_message() -> None:
    env = {**os.environ, "LIVEHANDOFF_PORT": "not-a-port"}
    process = await asyncio.create_subprocess_exec(
        *CLI, "check", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode != 0
    assert b"port" in err


SECRETS = {
    "LIVEHANDOFF_LIVECHAT_CLIENT_SECRET": "cli-client-secret-4e7a",
    "LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN": "cli-refresh-token-9b1c",
    "LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET": "cli-webhook-secret-2d8f",
    "LIVEHANDOFF_DIALOGFLOW_WEBHOOK_PASSWORD": "cli-fulfillment-password-6c3e",
    "LIVEHANDOFF_DIALOGFLOW_WEBHOOK_TOKEN": "cli-fulfillment-token-1a5b",
}
DATABASE_PASSWORD = "cli-database-password-8f2d"


async def check(**extra: str) -> tuple[int, bytes, bytes]:
    env = {
        **os.environ,
        **SECRETS,
        "LIVEHANDOFF_DATABASE_URL": f"postgresql+asyncpg://bridge:{DATABASE_PASSWORD}@db.internal/livehandoff",
        **extra,
    }
    process = await asyncio.create_subprocess_exec(
        *CLI, "check", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out, err


async def test_check_shows_no_secret_and_no_database_password() -> None:
    code, out, err = await check()
    assert code == 0, err
    for secret in [*SECRETS.values(), DATABASE_PASSWORD]:
        assert secret.encode() not in out + err
    shown = json.loads(out)
    for variable in SECRETS:
        assert shown[variable.removeprefix("LIVEHANDOFF_").lower()] == "**********"
    assert shown["database_url"] == "postgresql+asyncpg://bridge:***@db.internal/livehandoff"


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("LIVEHANDOFF_DIALOGFLOW_EDITION", "cx", b"LIVEHANDOFF_DIALOGFLOW_AGENT_ID"),
        ("LIVEHANDOFF_PORT", "not-a-port", b"port"),
        ("LIVEHANDOFF_HANDOFF_GROUPS", '{"billing": "cli-secret-pasted-here"}', b"handoff_groups"),
    ],
)
async def test_an_invalid_configuration_is_explained_without_quoting_it(
    variable: str, value: str, named: bytes
) -> None:
    """Pydantic quotes the input of a failed check; for a check of the whole model that is every setting."""
    code, out, err = await check(**{variable: value})
    assert code != 0
    assert named in err
    assert b"input_value" not in err
    for secret in [*SECRETS.values(), DATABASE_PASSWORD, "cli-secret-pasted-here"]:
        assert secret.encode() not in out + err
