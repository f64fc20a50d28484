"""Settings from the environment: the forms the docs promise, and a refusal naming the variable."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from livehandoff.check import InvalidSettings, Problem, load_settings, problems, variable, warnings
from livehandoff.config import Settings

Environment = Callable[..., None]

COMPLETE = {
    "LIVEHANDOFF_PUBLIC_URL": "https://livehandoff.example.com",
    "LIVEHANDOFF_LIVECHAT_CLIENT_ID": "5a1b8c0d2e3f4a5b6c7d8e9f0a1b2c3d",
    "LIVEHANDOFF_LIVECHAT_CLIENT_SECRET": "client-secret-value-1",
    "LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN": "refresh-token-value-2",
    "LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET": "webhook-secret-value-3",
    "LIVEHANDOFF_DIALOGFLOW_PROJECT_ID": "shop-bot-1234",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Environment:
    """Only the variables a test names (plus a database in its own directory)."""
    for name in list(os.environ):
        if name.startswith("LIVEHANDOFF_") or name == "GOOGLE_APPLICATION_CREDENTIALS":
            monkeypatch.delenv(name)
    monkeypatch.setenv("LIVEHANDOFF_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'bridge.sqlite3'}")

    def set_variables(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return set_variables


def refused() -> list[str]:
    with pytest.raises(InvalidSettings) as invalid:
        load_settings()
    return [str(problem) for problem in invalid.value.problems]


# --- lists and maps, as the docs write them ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://shop.example.com", ("https://shop.example.com",)),
        ("*", ("*",)),
        ("https://a.example, https://b.example", ("https://a.example", "https://b.example")),
        ('["https://a.example", "https://b.example"]', ("https://a.example", "https://b.example")),
        ("", ()),
        (" , ", ()),
    ],
)
def test_allowed_origins_are_comma_separated_or_a_json_array(
    environment: Environment, value: str, expected: tuple[str, ...]
) -> None:
    environment(LIVEHANDOFF_ALLOWED_ORIGINS=value)
    assert load_settings().allowed_origins == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("handoff", ("handoff",)),
        ("handoff,talk_to_agent", ("handoff", "talk_to_agent")),
        ('["handoff"]', ("handoff",)),
    ],
)
def test_handoff_names_are_comma_separated_or_a_json_array(
    environment: Environment, value: str, expected: tuple[str, ...]
) -> None:
    environment(LIVEHANDOFF_HANDOFF_NAMES=value)
    assert load_settings().handoff_names == expected


@pytest.mark.parametrize("name", ["LIVEHANDOFF_HANDOFF_GROUPS", "LIVEHANDOFF_LIVECHAT_GROUP_NAMES"])
@pytest.mark.parametrize(
    "value", ["fallbacks=2,bot_error=3", " fallbacks = 2 , bot_error=3 ,", '{"fallbacks": 2, "bot_error": 3}']
)
def test_group_maps_are_name_id_pairs_or_a_json_object(
    environment: Environment, name: str, value: str
) -> None:
    environment(**{name: value})
    settings = load_settings()
    assert getattr(settings, name.removeprefix("LIVEHANDOFF_").lower()) == {"fallbacks": 2, "bot_error": 3}


def test_lists_still_come_as_python_values(environment: Environment) -> None:
    settings = Settings(allowed_origins=["https://a.example"], handoff_groups={"payload": 4})
    assert settings.allowed_origins == ("https://a.example",)
    assert settings.handoff_groups == {"payload": 4}


# --- refusals name the variable, never the field, never the value --------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("LIVEHANDOFF_PORT", "eighty", "LIVEHANDOFF_PORT: Input should be a valid integer"),
        (
            "LIVEHANDOFF_PUBLIC_URL",
            "bridge.example.com",
            "LIVEHANDOFF_PUBLIC_URL: must be an http:// or https://",
        ),
        (
            "LIVEHANDOFF_LIVECHAT_API_URL",
            "ftp://api.example",
            "LIVEHANDOFF_LIVECHAT_API_URL: must be an http",
        ),
        (
            "LIVEHANDOFF_DIALOGFLOW_API_ENDPOINT",
            "https://x:y",
            "LIVEHANDOFF_DIALOGFLOW_API_ENDPOINT: has a port",
        ),
        ("LIVEHANDOFF_LOG_LEVEL", "verbose", "LIVEHANDOFF_LOG_LEVEL: must be one of DEBUG, INFO"),
        ("LIVEHANDOFF_DEFAULT_LANGUAGE", "English", "LIVEHANDOFF_DEFAULT_LANGUAGE: must be a language tag"),
        ("LIVEHANDOFF_HANDOFF_GROUPS", "billing=2", "LIVEHANDOFF_HANDOFF_GROUPS: names no trigger billing;"),
        ("LIVEHANDOFF_HANDOFF_GROUPS", "fallbacks", "LIVEHANDOFF_HANDOFF_GROUPS: takes name=id pairs"),
        (
            "LIVEHANDOFF_HANDOFF_GROUPS",
            "fallbacks=-1",
            "LIVEHANDOFF_HANDOFF_GROUPS: fallbacks: Input should be",
        ),
        (
            "LIVEHANDOFF_LIVECHAT_GROUP_NAMES",
            "{billing: 2}",
            "LIVEHANDOFF_LIVECHAT_GROUP_NAMES: is neither a JSON",
        ),
        ("LIVEHANDOFF_ALLOWED_ORIGINS", '["a", 3]', "LIVEHANDOFF_ALLOWED_ORIGINS: item 2: Input should be"),
        ("LIVEHANDOFF_ALLOWED_ORIGINS", "[a", "LIVEHANDOFF_ALLOWED_ORIGINS: is neither a JSON array"),
        ("LIVEHANDOFF_DIALOGFLOW_EDITION", "cx", "LIVEHANDOFF_DIALOGFLOW_AGENT_ID is required"),
        ("LIVEHANDOFF_HANDOFF_WHEN_OFFLINE", "wait", "LIVEHANDOFF_HANDOFF_WHEN_OFFLINE: Input should be"),
    ],
)
def test_an_invalid_value_is_named_by_its_variable(
    environment: Environment, name: str, value: str, expected: str
) -> None:
    environment(**{name: value})
    shown = refused()
    assert len(shown) == 1
    assert shown[0].startswith(expected), shown


def test_every_invalid_value_is_reported_at_once(environment: Environment) -> None:
    environment(
        LIVEHANDOFF_PORT="0",
        LIVEHANDOFF_PUBLIC_URL="nope",
        LIVEHANDOFF_LOG_LEVEL="loud",
        LIVEHANDOFF_HANDOFF_GROUPS="fallbacks=x",
    )
    shown = refused()
    assert [line.partition(":")[0] for line in shown] == [
        "LIVEHANDOFF_PUBLIC_URL",
        "LIVEHANDOFF_PORT",
        "LIVEHANDOFF_LOG_LEVEL",
        "LIVEHANDOFF_HANDOFF_GROUPS",
    ]


def test_a_pasted_secret_is_not_quoted(environment: Environment) -> None:
    pasted = "sk-live-pasted-by-mistake-7f3a"
    environment(
        LIVEHANDOFF_HANDOFF_GROUPS=f"fallbacks={pasted}",
        LIVEHANDOFF_LIVECHAT_GROUP_NAMES=f'{{"billing": "{pasted}"}}',
        LIVEHANDOFF_PORT=pasted,
        LIVEHANDOFF_ALLOWED_ORIGINS=f"[{pasted}",
    )
    shown = "\n".join(refused())
    assert pasted not in shown
    assert "input_value" not in shown
    assert "pydantic" not in shown


def test_every_setting_has_its_variable_in_the_docs() -> None:
    documented = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [variable(name) for name in Settings.model_fields if f"`{variable(name)}`" not in documented]
    assert not missing
    assert variable("google_application_credentials") == "GOOGLE_APPLICATION_CREDENTIALS"


# --- what a value cannot say about itself --------------------------------------------------------


def test_complete_settings_have_no_problem_and_no_warning(environment: Environment) -> None:
    environment(**COMPLETE)
    settings = load_settings()
    assert problems(settings) == []
    assert warnings(settings) == []


def test_empty_livechat_credentials_are_problems(environment: Environment) -> None:
    environment(LIVEHANDOFF_LIVECHAT_LICENSE_ID="12a")
    named = [problem.variable for problem in problems(load_settings())]
    assert named == [
        "LIVEHANDOFF_LIVECHAT_CLIENT_ID",
        "LIVEHANDOFF_LIVECHAT_CLIENT_SECRET",
        "LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN",
        "LIVEHANDOFF_LIVECHAT_LICENSE_ID",
        "LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET",
    ]


def test_an_empty_webhook_secret_without_registration_is_a_warning(environment: Environment) -> None:
    environment(**{**COMPLETE, "LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET": ""})
    environment(LIVEHANDOFF_LIVECHAT_REGISTER_WEBHOOKS="false")
    settings = load_settings()
    assert problems(settings) == []
    assert [problem.variable for problem in warnings(settings)] == ["LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET"]
    assert "every LiveChat webhook will be refused" in str(warnings(settings)[0])


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000", "http://0.0.0.0"]
)
def test_a_loopback_public_url_is_a_warning(environment: Environment, url: str) -> None:
    environment(**{**COMPLETE, "LIVEHANDOFF_PUBLIC_URL": url})
    found = warnings(load_settings())
    assert [problem.variable for problem in found] == ["LIVEHANDOFF_PUBLIC_URL"]
    assert "loopback" in found[0].message


def test_plain_http_and_the_demo_project_are_warnings(environment: Environment) -> None:
    environment(**{**COMPLETE, "LIVEHANDOFF_PUBLIC_URL": "http://bridge.example.com"})
    environment(LIVEHANDOFF_DIALOGFLOW_PROJECT_ID="livehandoff-demo")
    assert [problem.variable for problem in warnings(load_settings())] == [
        "LIVEHANDOFF_PUBLIC_URL",
        "LIVEHANDOFF_DIALOGFLOW_PROJECT_ID",
    ]


def test_the_credentials_file_must_exist_and_have_a_supported_type(
    environment: Environment, tmp_path: Path
) -> None:
    environment(**COMPLETE, GOOGLE_APPLICATION_CREDENTIALS=str(tmp_path / "missing.json"))
    missing = tmp_path / "missing.json"
    assert [str(p) for p in problems(load_settings())] == [
        f"GOOGLE_APPLICATION_CREDENTIALS: Google credentials could not be loaded from {missing}: "
        "No such file or directory"
    ]
    external = tmp_path / "external.json"
    external.write_text(json.dumps({"type": "external_account", "credential_source": {}}))
    environment(GOOGLE_APPLICATION_CREDENTIALS=str(external))
    found = problems(load_settings())
    assert [problem.variable for problem in found] == ["GOOGLE_APPLICATION_CREDENTIALS"]
    assert "its type is 'external_account', expected service_account or authorized_user" in found[0].message
    user = tmp_path / "user.json"
    user.write_text(
        json.dumps({"type": "authorized_user", "client_id": "i", "client_secret": "s", "refresh_token": "r"})
    )
    environment(GOOGLE_APPLICATION_CREDENTIALS=str(user))
    assert problems(load_settings()) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://bridge@db/livehandoff", "unsupported database URL"),
        ("sqlite+aiosqlite:///{tmp}", "is a directory, not a database file"),
        (
            "sqlite+aiosqlite:///{tmp}/file.txt/bridge.sqlite3",
            "cannot be created: {tmp}/file.txt is not a directory",
        ),
    ],
)
def test_the_database_url_must_be_usable(
    environment: Environment, tmp_path: Path, url: str, expected: str
) -> None:
    (tmp_path / "file.txt").write_text("not a directory")
    environment(**COMPLETE, LIVEHANDOFF_DATABASE_URL=url.format(tmp=tmp_path))
    found = problems(load_settings())
    assert [problem.variable for problem in found] == ["LIVEHANDOFF_DATABASE_URL"]
    assert expected.format(tmp=tmp_path) in found[0].message


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///{tmp}/new/folder/bridge.sqlite3",
        "sqlite+aiosqlite://",
        "postgresql://bridge:pw@db.internal/livehandoff",
    ],
)
def test_usable_database_urls(environment: Environment, tmp_path: Path, url: str) -> None:
    environment(**COMPLETE, LIVEHANDOFF_DATABASE_URL=url.format(tmp=tmp_path))
    assert problems(load_settings()) == []


def test_a_problem_reads_as_one_line() -> None:
    assert str(Problem("LIVEHANDOFF_PORT", "must be a number")) == "LIVEHANDOFF_PORT: must be a number"
    assert str(Problem("", "LIVEHANDOFF_X needs LIVEHANDOFF_Y")) == "LIVEHANDOFF_X needs LIVEHANDOFF_Y"


def test_the_deploy_guide_names_only_real_settings_and_commands() -> None:
    from livehandoff.cli import build_parser

    guide = (Path(__file__).parents[2] / "docs" / "deploy.md").read_text(encoding="utf-8")
    known = {variable(name) for name in Settings.model_fields}
    named = set(re.findall(r"\b(?:LIVEHANDOFF_[A-Z_]*[A-Z]|GOOGLE_APPLICATION_CREDENTIALS)\b", guide))
    assert named - known == set()
    commands = set(re.findall(r"`livehandoff ([a-z -]+)`", guide))
    assert {"serve", "check --live", "livechat authorize", "livechat webhooks --prune"} <= commands
    for command in commands:
        build_parser().parse_args(command.split())
