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


def environment(**variables: str) -> dict[str, str]:
    """This process's environment without livehandoff's settings, plus ``variables``."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("LIVEHANDOFF_") and name != "GOOGLE_APPLICATION_CREDENTIALS"
    }
    return {**kept, **variables}


async def run_cli(*args: str, env: dict[str, str], cwd: Path | None = None) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        *CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=cwd
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out, err


async def test_check_prints_the_configuration_without_secrets(tmp_path: Path) -> None:
    env = environment(
        LIVEHANDOFF_LIVECHAT_CLIENT_ID="5a1b8c0d2e3f4a5b6c7d8e9f0a1b2c3d",
        LIVEHANDOFF_LIVECHAT_CLIENT_SECRET="very-secret-value",
        LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN="refresh-secret-value",
        LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET="another-secret",
    )
    code, out, err = await run_cli("check", env=env, cwd=tmp_path)
    assert code == 0, err
    assert b"very-secret-value" not in out + err
    assert b"another-secret" not in out + err
    shown = json.loads(out)
    assert shown["livechat_client_secret"] == "**********"
    assert shown["livechat_refresh_token"] == "**********"
    assert shown["dialogflow_webhook_token"] == ""


async def test_comma_separated_settings_start_check(tmp_path: Path) -> None:
    """They used to end in a 44-line traceback: pydantic-settings read lists and maps only as JSON."""
    env = environment(
        **REQUIRED,
        **SECRETS,
        LIVEHANDOFF_ALLOWED_ORIGINS="https://shop.example.com,https://www.example.com",
        LIVEHANDOFF_HANDOFF_NAMES="handoff",
        LIVEHANDOFF_HANDOFF_GROUPS="fallbacks=2,bot_error=3",
        LIVEHANDOFF_LIVECHAT_GROUP_NAMES='{"billing": 4}',
    )
    code, out, err = await run_cli("check", env=env, cwd=tmp_path)
    assert code == 0, err
    shown = json.loads(out)
    assert shown["allowed_origins"] == ["https://shop.example.com", "https://www.example.com"]
    assert shown["handoff_names"] == ["handoff"]
    assert shown["handoff_groups"] == {"fallbacks": 2, "bot_error": 3}
    assert shown["livechat_group_names"] == {"billing": 4}


async def test_invalid_settings_are_one_line_each_and_exit_2(tmp_path: Path) -> None:
    env = environment(
        LIVEHANDOFF_PORT="not-a-port",
        LIVEHANDOFF_PUBLIC_URL="livehandoff.example.com",
        LIVEHANDOFF_HANDOFF_GROUPS="billing=2",
    )
    code, out, err = await run_cli("check", env=env, cwd=tmp_path)
    assert code == 2
    assert out == b""
    assert err.decode().splitlines() == [
        "livehandoff check: LIVEHANDOFF_PUBLIC_URL: must be an http:// or https:// URL such as "
        "https://livehandoff.example.com",
        "livehandoff check: LIVEHANDOFF_PORT: Input should be a valid integer, unable to parse string as an "
        "integer",
        "livehandoff check: LIVEHANDOFF_HANDOFF_GROUPS: names no trigger billing; the triggers are "
        "live_agent_handoff, payload, intent_name, fallbacks, bot_error, left_email",
    ]


async def test_missing_credentials_are_problems_and_warnings_are_told(tmp_path: Path) -> None:
    code, out, err = await run_cli("check", env=environment(), cwd=tmp_path)
    assert code == 2
    assert json.loads(out)["public_url"] == "http://127.0.0.1:8000"
    lines = err.decode().splitlines()
    assert lines[0].startswith(
        "livehandoff check: warning: LIVEHANDOFF_PUBLIC_URL: http://127.0.0.1:8000 is a loopback"
    )
    assert [line.split(": ")[1] for line in lines[2:]] == [
        "LIVEHANDOFF_LIVECHAT_CLIENT_ID",
        "LIVEHANDOFF_LIVECHAT_CLIENT_SECRET",
        "LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN",
        "LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET",
    ]
    assert b"Traceback" not in err


REQUIRED = {
    "LIVEHANDOFF_LIVECHAT_CLIENT_ID": "5a1b8c0d2e3f4a5b6c7d8e9f0a1b2c3d",
    "LIVEHANDOFF_PUBLIC_URL": "https://livehandoff.example.com",
}
SECRETS = {
    "LIVEHANDOFF_LIVECHAT_CLIENT_SECRET": "cli-client-secret-4e7a",
    "LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN": "cli-refresh-token-9b1c",
    "LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET": "cli-webhook-secret-2d8f",
    "LIVEHANDOFF_DIALOGFLOW_WEBHOOK_PASSWORD": "cli-fulfillment-password-6c3e",
    "LIVEHANDOFF_DIALOGFLOW_WEBHOOK_TOKEN": "cli-fulfillment-token-1a5b",
}
DATABASE_PASSWORD = "cli-database-password-8f2d"


async def check(**extra: str) -> tuple[int, bytes, bytes]:
    env = environment(
        **REQUIRED,
        **SECRETS,
        LIVEHANDOFF_DATABASE_URL=f"postgresql+asyncpg://bridge:{DATABASE_PASSWORD}@db.internal/livehandoff",
        **extra,
    )
    return await run_cli("check", env=env)


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
        ("LIVEHANDOFF_PORT", "not-a-port", b"LIVEHANDOFF_PORT"),
        (
            "LIVEHANDOFF_HANDOFF_GROUPS",
            '{"fallbacks": "cli-secret-pasted-here"}',
            b"LIVEHANDOFF_HANDOFF_GROUPS",
        ),
        (
            "LIVEHANDOFF_LIVECHAT_GROUP_NAMES",
            "billing=cli-secret-pasted-here",
            b"LIVEHANDOFF_LIVECHAT_GROUP_NAMES",
        ),
    ],
)
async def test_an_invalid_configuration_is_explained_without_quoting_it(
    variable: str, value: str, named: bytes
) -> None:
    """Pydantic quotes the input of a failed check; for a check of the whole model that is every setting."""
    code, out, err = await check(**{variable: value})
    assert code == 2
    assert named in err
    assert b"input_value" not in err
    assert b"Traceback" not in err
    assert b"errors.pydantic.dev" not in err
    for secret in [*SECRETS.values(), DATABASE_PASSWORD, "cli-secret-pasted-here"]:
        assert secret.encode() not in out + err


def test_help_reads_as_plain_text() -> None:
    from livehandoff.cli import build_parser

    shown = build_parser().format_help()
    assert "``" not in shown
    assert "Dialogflow" in shown
