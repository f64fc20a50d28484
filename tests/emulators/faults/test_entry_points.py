"""``livehandoff emulate … --faults FILE`` and ``python -m livehandoff.emulators.livechat --faults FILE``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from livehandoff import cli
from livehandoff.emulators.dialogflow.faults import DialogflowFaultConfig
from livehandoff.emulators.livechat import FaultConfig
from livehandoff.emulators.livechat.__main__ import main as livechat_main


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The apps ``emulate`` would serve, instead of serving them."""
    apps: list[Any] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **options: apps.append(app))
    monkeypatch.setattr(cli, "configure_logging", lambda level: None)
    return apps


def write(tmp_path: Path, data: Any) -> str:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps(data))
    return str(path)


def run(*argv: str) -> int:
    args = cli.build_parser().parse_args(["emulate", *argv])
    result: int = args.run(args)
    return result


def test_emulate_livechat_starts_with_the_files_faults(tmp_path: Path, served: list[Any], capsys):
    data = {"seed": 3, "webhooks": {"duplicate_rate": 0.5}}
    assert run("livechat", "--faults", write(tmp_path, data)) == 0
    assert served[0].state.faults.config == FaultConfig.from_dict(data)
    assert "organization_id" in json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("edition", ["es", "cx"])
def test_emulate_dialogflow_starts_with_the_files_faults(tmp_path: Path, served: list[Any], edition: str):
    data = {"seed": 3, "error_rate": 0.5}
    assert run("dialogflow", "--edition", edition, "--faults", write(tmp_path, data)) == 0
    assert served[0].state.faults.config == DialogflowFaultConfig.from_dict(data)


def test_without_the_flag_no_faults(served: list[Any]):
    assert run("livechat") == 0
    assert served[0].state.faults.config is None


@pytest.mark.parametrize(
    ("platform", "data"),
    [("livechat", {"api": {"default": {"error_rate": 2}}}), ("dialogflow", {"error_rate": 2})],
)
def test_a_bad_fault_file_stops_with_the_reason(tmp_path: Path, served: list[Any], platform: str, data: Any):
    with pytest.raises(SystemExit, match=r"bad fault file: .*error_rate"):
        run(platform, "--faults", write(tmp_path, data))
    assert served == []


def test_the_module_entry_point_refuses_a_bad_fault_file(tmp_path: Path, capsys):
    assert livechat_main(["--faults", write(tmp_path, {"webhooks": {"drop_rate": 9}})]) == 2
    assert "webhooks.drop_rate" in capsys.readouterr().err
