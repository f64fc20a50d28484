"""The command line, run as a user runs it: in a subprocess, on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import httpx

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
