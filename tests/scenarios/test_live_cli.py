"""``check --live``, ``livechat webhooks --prune`` and ``serve`` as commands, against the demo's stack on
loopback: what a person sees in a terminal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from livehandoff.devstack import Stack, run_stack
from livehandoff.emulators.livechat import LiveChatEmulator
from tests.scenarios.test_cli import environment, run_cli
from tests.scenarios.test_serve import bridge_env, livechat


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with run_stack(database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}") as running:
        yield running


def stack_env(stack: Stack, **changes: str) -> dict[str, str]:
    """The demo bridge's settings as environment variables (what a person would export)."""
    settings = stack.settings
    values = {
        "LIVEHANDOFF_PUBLIC_URL": settings.public_url,
        "LIVEHANDOFF_LIVECHAT_API_URL": settings.livechat_api_url,
        "LIVEHANDOFF_LIVECHAT_ACCOUNTS_URL": settings.livechat_accounts_url,
        "LIVEHANDOFF_LIVECHAT_CLIENT_ID": settings.livechat_client_id,
        "LIVEHANDOFF_LIVECHAT_CLIENT_SECRET": settings.livechat_client_secret.get_secret_value(),
        "LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN": settings.livechat_refresh_token.get_secret_value(),
        "LIVEHANDOFF_LIVECHAT_ORGANIZATION_ID": settings.livechat_organization_id,
        "LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET": settings.livechat_webhook_secret.get_secret_value(),
        "LIVEHANDOFF_DIALOGFLOW_API_ENDPOINT": settings.dialogflow_api_endpoint,
        "LIVEHANDOFF_DIALOGFLOW_PROJECT_ID": settings.dialogflow_project_id,
        "LIVEHANDOFF_DATABASE_URL": "sqlite+aiosqlite://",
        **changes,
    }
    return environment(**values)


async def test_check_live_passes_against_the_demo(stack: Stack, tmp_path: Path) -> None:
    code, out, err = await run_cli("check", "--live", env=stack_env(stack), cwd=tmp_path)
    assert code == 0, out + err
    lines = out.decode().splitlines()
    assert lines[-1] == "7 of 7 checks passed: ready"
    assert all(line.startswith("passed  ") for line in lines[:7]), lines
    assert f"deliver to {stack.bridge_url}/webhooks/livechat" in lines[3]


async def test_check_live_fails_on_a_wrong_refresh_token(stack: Stack, tmp_path: Path) -> None:
    env = stack_env(stack, LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN="wrong-refresh-token-5e1")
    code, out, _ = await run_cli("check", "--live", env=env, cwd=tmp_path)
    assert code == 1
    lines = out.decode().splitlines()
    assert lines[0].startswith("FAILED  LiveChat agent token         LiveChat refused the refresh token:")
    assert lines[1].strip() == (
        "fix: LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN, `livehandoff livechat authorize` prints a new one"
    )
    assert lines[-1] == "1 of 2 checks passed"
    assert b"wrong-refresh-token-5e1" not in out


async def test_check_live_needs_valid_settings_first(tmp_path: Path) -> None:
    code, out, err = await run_cli("check", "--live", env=environment(), cwd=tmp_path)
    assert code == 2
    assert out == b""
    assert b"LIVEHANDOFF_LIVECHAT_CLIENT_ID: required" in err


async def test_webhooks_prune_removes_those_of_an_old_url(stack: Stack, tmp_path: Path) -> None:
    creds = stack.credentials
    async with httpx.AsyncClient() as http:
        registered = await http.post(
            f"{stack.livechat_url}/v3.6/configuration/action/register_webhook",
            json={
                "action": "incoming_event",
                "url": "https://old.example.com/webhooks/livechat",
                "secret_key": "old",
                "type": "license",
                "owner_client_id": creds.client_id,
            },
            headers={"Authorization": creds.pat_authorization},
        )
        assert registered.status_code == 200
    code, out, _ = await run_cli("livechat", "webhooks", env=stack_env(stack), cwd=tmp_path)
    assert code == 0
    assert sum(line.startswith("here ") for line in out.decode().splitlines()) == 3
    assert "1 of this app's webhooks deliver elsewhere" in out.decode()

    code, out, _ = await run_cli("livechat", "webhooks", "--prune", env=stack_env(stack), cwd=tmp_path)
    assert code == 0
    assert out.decode().splitlines()[-1].startswith("removed 1 webhook(s) that delivered elsewhere")
    code, out, _ = await run_cli("check", "--live", env=stack_env(stack), cwd=tmp_path)
    assert code == 0, out


async def test_serve_says_how_to_free_a_full_webhook_action(tmp_path: Path) -> None:
    """LiveChat allows three webhooks per action and app; old ones must not stop serve without a word."""
    async with livechat() as (url, emulator):
        await fill(url, emulator, "incoming_event")
        code, _, err = await run_cli(
            "serve", env=bridge_env(tmp_path, url, emulator.credentials), cwd=tmp_path
        )
    assert code == 1
    last = err.decode().splitlines()[-1]
    assert last.startswith(
        "livehandoff serve: cannot start: LiveChat refused to register the incoming_event webhook: this app "
        "already has 3 for it"
    )
    assert last.endswith(
        "run `livehandoff livechat webhooks --prune` to remove this app's webhooks for other URLs"
    )
    assert b"Traceback" not in err


async def fill(url: str, emulator: LiveChatEmulator, action: str) -> None:
    creds = emulator.credentials
    async with httpx.AsyncClient(base_url=url) as http:
        for n in range(3):
            body = {
                "action": action,
                "url": f"https://old-{n}.example.com/webhooks/livechat",
                "secret_key": "old",
                "type": "license",
                "owner_client_id": creds.client_id,
            }
            answer = await http.post(
                "/v3.6/configuration/action/register_webhook",
                json=body,
                headers={"Authorization": creds.pat_authorization},
            )
            assert answer.status_code == 200
