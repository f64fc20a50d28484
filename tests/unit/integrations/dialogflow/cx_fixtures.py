"""CX ``DetectIntentResponse`` fixtures, each checked against the official type before use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from google.cloud.dialogflowcx_v3.types import DetectIntentResponse

FIXTURES = Path(__file__).resolve().parent / "cx_responses"


def cx_response(name: str) -> dict[str, Any]:
    """A fixture's JSON; it must parse with the official type without tolerating unknown fields."""
    text = (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
    DetectIntentResponse.from_json(text, ignore_unknown_fields=False)
    data: dict[str, Any] = json.loads(text)
    return data


def cx_result(name: str) -> dict[str, Any]:
    """The fixture's ``queryResult``."""
    result: dict[str, Any] = cx_response(name)["queryResult"]
    return result


def fixture_names() -> list[str]:
    return sorted(path.stem for path in FIXTURES.glob("*.json"))
