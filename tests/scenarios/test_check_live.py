"""``livehandoff check --live`` and ``livehandoff livechat webhooks`` against the emulators, in process.

Each credential is tried right and wrong; a wrong one fails its check and names the variable to change.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from livehandoff import admin, live_check
from livehandoff.config import Settings
from livehandoff.devstack import DEMO_CX_AGENT, DEMO_PROJECT, dialogflow_app
from livehandoff.emulators.dialogflow.faults import DialogflowFaultConfig
from livehandoff.emulators.livechat import LiveChatEmulator, parse_seed
from livehandoff.errors import DeskError
from livehandoff.integrations.livechat import LiveChatClient, TokenManager, ensure_webhooks
from livehandoff.live_check import Outcome

BRIDGE = "https://bridge.example.com"
LIVECHAT = "http://livechat.test"
DIALOGFLOW = "http://dialogflow.test"
CX = "http://dialogflow-cx.test"
DOWN = "http://down.test"
SECRET = "check-live-webhook-secret"
OUR_URL = BRIDGE + "/webhooks/livechat"


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@dataclass
class World:
    emulator: LiveChatEmulator
    http: httpx.AsyncClient

    def settings(self, **overrides: Any) -> Settings:
        creds = self.emulator.credentials
        values: dict[str, Any] = {
            "public_url": BRIDGE,
            "livechat_api_url": LIVECHAT,
            "livechat_accounts_url": LIVECHAT,
            "livechat_client_id": creds.client_id,
            "livechat_client_secret": creds.client_secret,
            "livechat_refresh_token": creds.refresh_token,
            "livechat_organization_id": creds.organization_id,
            "livechat_webhook_secret": SECRET,
            "dialogflow_api_endpoint": DIALOGFLOW,
            "dialogflow_project_id": DEMO_PROJECT,
            **overrides,
        }
        return Settings(**values)

    async def check(self, **overrides: Any) -> dict[str, Outcome]:
        outcomes = await live_check.run(self.settings(**overrides), http=self.http)
        return {outcome.name: outcome for outcome in outcomes}

    async def register(self, action: str, url: str, *, secret: str = SECRET) -> None:
        """A webhook of the bridge's app, registered by the agent with a PAT (as a person would)."""
        creds = self.emulator.credentials
        body = {
            "action": action,
            "url": url,
            "secret_key": secret,
            "type": "license",
            "owner_client_id": creds.client_id,
        }
        response = await self.http.post(
            f"{LIVECHAT}/v3.6/configuration/action/register_webhook",
            json=body,
            headers={"Authorization": creds.pat_authorization},
        )
        assert response.status_code == 200, response.text

    def urls(self) -> list[str]:
        return sorted(
            hook.url for org in self.emulator.state.organizations.values() for hook in org.webhooks.values()
        )


async def open_world(
    emulator: LiveChatEmulator, *, dialogflow_faults: DialogflowFaultConfig | None = None
) -> World:
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        LIVECHAT: httpx.ASGITransport(app=emulator.app),
        DIALOGFLOW: httpx.ASGITransport(app=dialogflow_app("es", None, faults=dialogflow_faults)),
        CX: httpx.ASGITransport(app=dialogflow_app("cx", None)),
        DOWN: httpx.MockTransport(unreachable),
    }
    return World(emulator, httpx.AsyncClient(mounts=mounts))


@pytest.fixture
async def world() -> AsyncIterator[World]:
    emulator = LiveChatEmulator()
    opened = await open_world(emulator)
    async with opened.http:
        yield opened
    await emulator.aclose()


def failed(outcomes: dict[str, Outcome]) -> dict[str, tuple[str, ...]]:
    return {name: outcome.fix for name, outcome in outcomes.items() if not outcome.passed}


async def test_right_settings_pass_every_check(world: World) -> None:
    outcomes = await world.check()
    assert failed(outcomes) == {}
    assert list(outcomes) == [
        "LiveChat agent token",
        "LiveChat scopes",
        "LiveChat organization",
        "LiveChat webhooks",
        "LiveChat webhooks elsewhere",
        "LiveChat groups",
        "Dialogflow query",
    ]
    assert outcomes["LiveChat organization"].detail == (
        f"organization {world.emulator.credentials.organization_id} (as configured)"
    )
    assert "serve registers them when it starts" in outcomes["LiveChat webhooks"].detail
    assert outcomes["LiveChat groups"].detail == "group 0 General: accepting_chats"
    assert (
        outcomes["Dialogflow query"].detail == "the ES agent answered 'hello' (intent Default Welcome Intent)"
    )


async def test_registered_webhooks_are_reported_as_delivering_here(world: World) -> None:
    settings = world.settings()
    client = LiveChatClient.from_settings(world.http, settings)
    tokens = TokenManager.from_settings(client, settings)
    await ensure_webhooks(
        client, tokens=tokens, url=OUR_URL, secret=SECRET, owner_client_id=settings.livechat_client_id
    )
    outcome = (await world.check())["LiveChat webhooks"]
    assert outcome.passed
    assert outcome.detail == f"incoming_event, user_added_to_chat, chat_deactivated deliver to {OUR_URL}"


@pytest.mark.parametrize(
    ("wrong", "fix"),
    [
        (
            {"livechat_client_secret": "not-the-secret"},
            ("LIVEHANDOFF_LIVECHAT_CLIENT_ID", "LIVEHANDOFF_LIVECHAT_CLIENT_SECRET"),
        ),
        (
            {"livechat_client_id": "0" * 32},
            ("LIVEHANDOFF_LIVECHAT_CLIENT_ID", "LIVEHANDOFF_LIVECHAT_CLIENT_SECRET"),
        ),
        (
            {"livechat_refresh_token": "not-the-refresh-token"},
            ("LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN", "`livehandoff livechat authorize` prints a new one"),
        ),
        ({"livechat_accounts_url": DOWN}, ("LIVEHANDOFF_LIVECHAT_ACCOUNTS_URL",)),
    ],
)
async def test_a_wrong_credential_fails_the_token_and_names_it(
    world: World, wrong: dict[str, str], fix: tuple[str, ...]
) -> None:
    outcomes = await world.check(**wrong)
    assert list(outcomes) == ["LiveChat agent token", "Dialogflow query"]
    assert failed(outcomes) == {"LiveChat agent token": fix}
    for secret in wrong.values():
        assert secret not in outcomes["LiveChat agent token"].detail or secret == DOWN


@pytest.mark.parametrize(
    ("wrong", "fix", "detail"),
    [
        (
            {"livechat_organization_id": "11111111-2222-4333-8444-555555555555"},
            ("LIVEHANDOFF_LIVECHAT_ORGANIZATION_ID",),
            "the refresh token belongs to organization",
        ),
        (
            {"livechat_license_id": "87654321"},
            ("LIVEHANDOFF_LIVECHAT_LICENSE_ID",),
            "license 87654321 could not",
        ),
    ],
)
async def test_a_wrong_organization_or_license_is_named(
    world: World, wrong: dict[str, str], fix: tuple[str, ...], detail: str
) -> None:
    outcomes = await world.check(**wrong)
    assert failed(outcomes) == {"LiveChat organization": fix}
    assert outcomes["LiveChat organization"].detail.startswith(detail)


async def test_the_right_license_confirms_the_organization(world: World) -> None:
    creds = world.emulator.credentials
    outcome = (await world.check(livechat_organization_id="", livechat_license_id=str(creds.license_id)))[
        "LiveChat organization"
    ]
    assert (outcome.passed, outcome.detail) == (
        True,
        f"organization {creds.organization_id} (from the token)",
    )


async def test_groups_the_settings_name_must_exist(world: World) -> None:
    outcomes = await world.check(livechat_group_id=7, handoff_groups={"fallbacks": 0, "bot_error": 9})
    assert failed(outcomes) == {
        "LiveChat groups": ("LIVEHANDOFF_HANDOFF_GROUPS", "LIVEHANDOFF_LIVECHAT_GROUP_ID"),
    }
    assert outcomes["LiveChat groups"].detail == (
        "group 7 of LIVEHANDOFF_LIVECHAT_GROUP_ID does not exist; "
        "group 9 of LIVEHANDOFF_HANDOFF_GROUPS (bot_error) does not exist"
    )


async def test_webhooks_elsewhere_are_listed_and_pruned(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    old = "https://old.example.com/webhooks/livechat"
    await world.register("incoming_event", old)
    await world.register("chat_deactivated", OUR_URL)
    outcomes = await world.check()
    assert failed(outcomes) == {
        "LiveChat webhooks elsewhere": (
            "`livehandoff livechat webhooks --prune` (unless another deployment of this app uses them)",
        )
    }
    assert (
        outcomes["LiveChat webhooks elsewhere"].detail.splitlines()[1].startswith(f"incoming_event → {old} (")
    )

    capsys.readouterr()
    with structlog.testing.capture_logs():
        assert await admin.webhooks(world.settings(), http=world.http, prune=False) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].startswith(f"elsewhere  incoming_event       {old}")
    assert listed[1].startswith(f"here       chat_deactivated     {OUR_URL}")
    assert "`livehandoff livechat webhooks --prune` removes them" in listed[2]
    assert world.urls() == [OUR_URL, old]

    with structlog.testing.capture_logs() as logged:
        assert await admin.webhooks(world.settings(), http=world.http, prune=True) == 0
    assert [event["event"] for event in logged if "webhook" in event["event"]] == ["livechat.webhook_pruned"]
    assert (
        capsys.readouterr().out.splitlines()[-1]
        == f"removed 1 webhook(s) that delivered elsewhere than {OUR_URL}"
    )
    assert world.urls() == [OUR_URL]
    assert failed(await world.check()) == {}


async def test_a_full_action_fails_and_says_to_prune(world: World) -> None:
    for n in range(3):
        await world.register("incoming_event", f"https://old-{n}.example.com/webhooks/livechat")
    outcomes = await world.check()
    assert failed(outcomes)["LiveChat webhooks"] == ("`livehandoff livechat webhooks --prune`",)
    assert (
        "incoming_event: this app has 3 elsewhere, so serve cannot register them"
        in outcomes["LiveChat webhooks"].detail
    )

    settings = world.settings()
    client = LiveChatClient.from_settings(world.http, settings)
    tokens = TokenManager.from_settings(client, settings)
    with pytest.raises(DeskError) as refused:
        await ensure_webhooks(
            client, tokens=tokens, url=OUR_URL, secret=SECRET, owner_client_id=settings.livechat_client_id
        )
    assert refused.value.error_type == "limit_reached"
    assert str(refused.value).endswith(
        "run `livehandoff livechat webhooks --prune` to remove this app's webhooks for other URLs"
    )


async def test_without_registration_missing_webhooks_fail(world: World) -> None:
    outcomes = await world.check(livechat_register_webhooks=False)
    assert failed(outcomes) == {"LiveChat webhooks": ("LIVEHANDOFF_LIVECHAT_REGISTER_WEBHOOKS",)}


async def test_without_registration_another_secret_fails(world: World) -> None:
    for action in ("incoming_event", "user_added_to_chat", "chat_deactivated"):
        await world.register(action, OUR_URL, secret="an-older-secret")
    outcomes = await world.check(livechat_register_webhooks=False)
    assert failed(outcomes) == {
        "LiveChat webhooks": ("LIVEHANDOFF_LIVECHAT_REGISTER_WEBHOOKS", "LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET")
    }
    assert "an-older-secret" not in outcomes["LiveChat webhooks"].detail


async def test_a_loopback_public_url_cannot_receive_webhooks(world: World) -> None:
    outcomes = await world.check(public_url="http://127.0.0.1:8000")
    assert failed(outcomes) == {"LiveChat webhooks": ("LIVEHANDOFF_PUBLIC_URL",)}


async def test_missing_scopes_are_named() -> None:
    seed = parse_seed(
        {
            "organizations": [
                {
                    "agents": [{"id": "anna@example.com", "name": "Anna"}],
                    "apps": [
                        {
                            "refresh_tokens": [
                                {
                                    "token": "narrow-refresh-token",
                                    "agent_id": "anna@example.com",
                                    "scopes": ["chats--all:rw"],
                                }
                            ]
                        }
                    ],
                }
            ]
        }
    )
    emulator = LiveChatEmulator(seed=seed)
    opened = await open_world(emulator)
    async with opened.http:
        outcomes = await opened.check()
    await emulator.aclose()
    assert not outcomes["LiveChat scopes"].passed
    assert outcomes["LiveChat scopes"].detail == (
        "the agent token lacks customers:own (to create and act as customers); webhooks.configuration:rw "
        "(to register the webhooks); groups--all:ro (to read the groups' status)"
    )
    assert not outcomes["LiveChat webhooks"].passed
    assert not outcomes["LiveChat groups"].passed


async def test_the_cx_agent_is_queried_too(world: World) -> None:
    outcome = (
        await world.check(
            dialogflow_edition="cx", dialogflow_agent_id=DEMO_CX_AGENT, dialogflow_api_endpoint=CX
        )
    )["Dialogflow query"]
    assert outcome.passed, outcome.detail
    assert outcome.detail.startswith("the CX agent answered 'hello'")


async def test_an_unreachable_dialogflow_names_the_endpoint(world: World) -> None:
    outcomes = await world.check(dialogflow_api_endpoint=DOWN)
    assert failed(outcomes) == {"Dialogflow query": ("LIVEHANDOFF_DIALOGFLOW_API_ENDPOINT",)}


async def test_a_failing_dialogflow_says_to_try_later() -> None:
    emulator = LiveChatEmulator()
    opened = await open_world(emulator, dialogflow_faults=DialogflowFaultConfig.from_dict({"error_rate": 1}))
    async with opened.http:
        outcomes = await opened.check()
    await emulator.aclose()
    assert failed(outcomes) == {
        "Dialogflow query": ("nothing: Dialogflow is busy or failing; try again later",)
    }


def google_answer(status: int) -> httpx.MockTransport:
    body = {"error": {"code": status, "message": "refused by Google", "status": "X"}}
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


@pytest.mark.parametrize(
    ("status", "fix"),
    [
        (403, ("GOOGLE_APPLICATION_CREDENTIALS (a service account with the Dialogflow API Client role)",)),
        (
            404,
            (
                "LIVEHANDOFF_DIALOGFLOW_PROJECT_ID",
                "LIVEHANDOFF_DIALOGFLOW_LOCATION",
                "LIVEHANDOFF_DIALOGFLOW_API_ENDPOINT",
            ),
        ),
    ],
)
async def test_google_refusals_name_what_to_change(status: int, fix: tuple[str, ...]) -> None:
    """Google's answers to a wrong key or project; the emulator serves any project, so they are faked."""
    async with httpx.AsyncClient(transport=google_answer(status)) as http:
        settings = Settings(dialogflow_api_endpoint="http://google.test", dialogflow_project_id="shop-bot")
        outcome = await live_check.dialogflow(settings, http=http)
    assert (outcome.passed, outcome.fix) == (False, fix)
    assert "refused by Google" in outcome.detail


async def test_a_credentials_file_of_another_type_fails_the_query(tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text('{"type": "external_account"}')
    async with httpx.AsyncClient(transport=google_answer(200)) as http:
        settings = Settings(google_application_credentials=str(key))
        outcome = await live_check.dialogflow(settings, http=http)
    assert (outcome.passed, outcome.fix) == (False, ("GOOGLE_APPLICATION_CREDENTIALS",))


def test_outcomes_print_status_name_detail_and_fix() -> None:
    outcome = Outcome(
        "LiveChat groups", False, "group 7 does not exist\nsecond line", ("LIVEHANDOFF_LIVECHAT_GROUP_ID",)
    )
    assert outcome.lines() == [
        "FAILED  LiveChat groups              group 7 does not exist",
        f"{'':38}second line",
        f"{'':38}fix: LIVEHANDOFF_LIVECHAT_GROUP_ID",
    ]
    assert Outcome("x", True, "fine").lines() == [f"passed  {'x':<28} fine"]
