"""Seeds: the default world, good files, and bad files with clear messages."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from livehandoff.emulators.livechat import LiveChatEmulator, default_seed, load_seed
from livehandoff.emulators.livechat.__main__ import main


def test_default_world():
    creds = LiveChatEmulator().credentials
    assert re.fullmatch(r"[0-9a-f-]{36}", creds.organization_id)
    assert isinstance(creds.license_id, int)
    assert creds.agent_id == "anna@example.com"
    assert creds.agent_name == "Anna"
    assert re.fullmatch(r"[0-9a-f]{32}", creds.client_id)
    assert creds.agent_pat
    assert creds.refresh_token
    assert creds.pat_authorization.startswith("Basic ")
    assert LiveChatEmulator().credentials == creds, "the default seed is fixed, so a demo config can name it"
    org = default_seed().organizations[0]
    assert [(g.id, g.name) for g in org.groups] == [(0, "General")]
    assert org.agents[0].routing_status == "accepting_chats"


async def test_good_seed_file(tmp_path):
    path = tmp_path / "seed.json"
    path.write_text(
        json.dumps(
            {
                "organizations": [
                    {
                        "id": "11111111-2222-4333-8444-555555555555",
                        "license_id": 424242,
                        "groups": [{"id": 3, "name": "Sales"}],
                        "agents": [
                            {
                                "id": "zoe@example.com",
                                "name": "Zoe",
                                "groups": [3],
                                "routing_status": "offline",
                            }
                        ],
                        "apps": [
                            {
                                "client_id": "c" * 32,
                                "client_secret": "secret-secret",
                                "refresh_tokens": [{"token": "refresh-zoe-1", "agent_id": "zoe@example.com"}],
                            }
                        ],
                    },
                    {"agents": [{"id": "max@example.org", "name": "Max"}], "apps": [{}]},
                ]
            }
        )
    )
    seed = load_seed(path)
    assert [g.id for g in seed.organizations[0].groups] == [0, 3], "group 0 is always there"
    emu = LiveChatEmulator(seed=seed)
    creds = emu.credentials
    assert (creds.organization_id, creds.license_id, creds.agent_id) == (
        "11111111-2222-4333-8444-555555555555",
        424242,
        "zoe@example.com",
    )
    assert creds.refresh_token == "refresh-zoe-1"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emu.app), base_url="http://lc.test"
    ) as api:
        found = await api.get("/v3.4/configuration/action/get_organization_id", params={"license_id": 424242})
        groups = await api.post(
            "/v3.6/configuration/action/list_groups",
            json={"fields": ["routing_status"]},
            headers={"Authorization": creds.pat_authorization},
        )
    await emu.aclose()
    assert found.json()["organization_id"] == creds.organization_id
    assert [(g["id"], g["routing_status"]) for g in groups.json()] == [(0, "offline"), (3, "offline")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "invalid seed"),
        ('{"organizations": []}', "organizations: should have at least 1 item"),
        ('{"organizations": [{"agents": [], "apps": [{}]}]}', "organizations.0.agents"),
        (
            '{"organizations": [{"agents": [{"id": "not-an-email", "name": "X"}], "apps": [{}]}]}',
            "agents.0.id",
        ),
        (
            '{"organizations": [{"agents": [{"id": "a@b.co", "name": "A"}],'
            ' "apps": [{"client_id": "XYZ"}]}]}',
            "client_id: must be 32 lower-case hex digits, got 'XYZ'",
        ),
        (
            '{"organizations": [{"agents": [{"id": "a@b.co", "name": "A", "groups": [9]}], "apps": [{}]}]}',
            "unknown group",
        ),
        (
            '{"organizations": [{"agents": [{"id": "a@b.co", "name": "A", "colour": "red"}], "apps": [{}]}]}',
            "colour",
        ),
        (
            '{"organizations": [{"agents": [{"id": "a@b.co", "name": "A"}], "apps": [{"refresh_tokens": '
            '[{"token": "12345678", "agent_id": "z@b.co"}]}]}]}',
            "unknown agent z@b.co",
        ),
        (
            '{"organizations": [{"agents": [{"id": "a@b.co", "name": "A"}], "apps": [{}]},'
            ' {"agents": [{"id": "a@b.co", "name": "B"}], "apps": [{}]}]}',
            "duplicate agent id: a@b.co",
        ),
    ],
)
def test_bad_seed_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        load_seed(path)
    assert str(path) in str(caught.value)


def test_missing_seed_file(tmp_path):
    with pytest.raises(ValueError, match="cannot read seed file"):
        load_seed(tmp_path / "absent.json")


def test_command_line_rejects_a_bad_seed(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text('{"organizations": []}')
    assert main(["--seed", str(path)]) == 2
    assert "invalid seed" in capsys.readouterr().err
