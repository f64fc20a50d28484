"""``livehandoff bench --quick`` end to end: the stack as separate processes, every phase, the report.

Only that every row is measured and reported is checked; the figures are the benchmark's business, never
a test's (``make bench`` and docs/performance.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from livehandoff.cli import main

ROWS = {
    "cpu_per_message",
    "throughput_ratio",
    "post_to_livechat",
    "agent_to_customer",
    "calls_new_customer",
    "calls_returning_customer",
    "handoff_new_customer",
    "handoff_returning_customer",
    "handoff_vs_naive",
    "idle_streams_rss",
    "idle_streams_relay",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    path = tmp_path_factory.mktemp("bench") / "report.json"
    with pytest.raises(SystemExit) as ended:
        main(["bench", "--quick", "--report", str(path)])
    assert ended.value.code in (0, 1), "0: every target passed, 1: some did not; 2 would be a broken run"
    loaded: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_every_row_is_reported_with_its_target_and_result(report: dict[str, object]) -> None:
    rows = report["rows"]
    assert isinstance(rows, list)
    assert {row["key"] for row in rows} == ROWS
    for row in rows:
        assert row["measured"]
        assert row["target"]
        assert row["result"] in ("PASS", "FAIL")


def test_the_handoffs_count_the_livechat_calls_on_their_path(report: dict[str, object]) -> None:
    handoffs = report["results"]["handoffs"]  # type: ignore[index]
    assert handoffs["new_customer"]["round_trips"]["min"] >= 1
    assert handoffs["returning_customer"]["round_trips"]["min"] >= 1
    naive = handoffs["naive_recipe"]
    # A customer token, start_chat, one send_event per transcript line: one after the other.
    assert naive["round_trips"]["min"] == 2 + naive["transcript_lines"]


def test_the_report_names_the_database_and_the_file_limit(report: dict[str, object], tmp_path: Path) -> None:
    assert str(report["config"]["database_url"]).startswith("sqlite")  # type: ignore[index]
    limit = report["file_limit"]
    assert limit["idle_streams"] == limit["idle_streams_requested"]  # type: ignore[index]
