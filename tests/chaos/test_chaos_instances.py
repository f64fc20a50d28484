"""The chaos run with two bridge instances on one new PostgreSQL database, behind the run's round-robin
proxy: 10 conversations of 3 messages each way, LiveChat faults on (``tests/chaos/faults.json``), one
instance killed with ``SIGKILL`` — the one holding a conversation whose send has begun, so the other takes
that conversation over — and then a rolling restart of both while customers keep talking.

With ``LIVEHANDOFF_TEST_REDIS_URL`` set the instances share their rate limits through Redis, as deployed.
Needs ``LIVEHANDOFF_TEST_POSTGRES_URL`` (several instances cannot share SQLite); skipped without it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path

import pytest

from livehandoff.chaos import ChaosOptions, Outcome, run_chaos
from livehandoff.chaos.report import STREAM_BREAKS
from tests.chaos.test_chaos_run import OPTIONS
from tests.contract.conftest import POSTGRES_SKIP_REASON, POSTGRES_URL_VARIABLE, postgres_database

REDIS_URL_VARIABLE = "LIVEHANDOFF_TEST_REDIS_URL"

SEVERAL = dataclasses.replace(
    OPTIONS,
    conversations=10,
    messages=3,
    concurrency=10,
    agents=10,
    rate=4.0,
    retry_horizon_seconds=6.0,
    instances=2,
    redis_url=os.environ.get(REDIS_URL_VARIABLE, ""),
)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    server = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server:
        pytest.skip(POSTGRES_SKIP_REASON)
    workdir = tmp_path_factory.mktemp("chaos-instances")

    async def on_postgres(server: str) -> Outcome:
        async with postgres_database(server) as url:
            options: ChaosOptions = dataclasses.replace(SEVERAL, database_url=url)
            return await run_chaos(options, workdir=workdir, say=lambda _: None)

    return asyncio.run(on_postgres(server))


def test_nothing_is_lost_repeated_or_reordered(outcome: Outcome) -> None:
    report = outcome.report
    assert report["totals"] == {"lost": 0, "duplicated": 0, "out_of_order": 0}
    assert (report["setup_failures"], report["unsent"]) == ([], 0)
    for direction in ("customer_to_agent", "agent_to_customer"):
        assert report["directions"][direction]["sent"] == 30
        assert report["directions"][direction]["unexpected"] == 0


def test_one_instance_was_killed_and_both_were_restarted_in_turn(outcome: Outcome) -> None:
    report = outcome.report
    assert (report["instances"], report["kills"], report["restarts"]) == (2, 1, 2)
    steps = report["rolling_restart"]["instances"]
    assert [step["instance"] for step in steps] == [1, 2]
    assert all(step["exited_on_sigterm"] for step in steps), "a stopping instance finishes and exits"
    attempts = report["restart"]["start_attempts"] + sum(step["start_attempts"] for step in steps)
    assert report["bridge_starts"] == 2 + attempts


def test_the_proxy_spread_customers_posts_and_streams_over_both_instances(outcome: Outcome) -> None:
    connections = outcome.report["proxy"]["connections"]
    assert set(connections) == {"1", "2"}
    for kinds in connections.values():
        assert kinds.get("api", 0) > 0
        assert kinds.get("stream", 0) > 0


def test_streams_cut_by_a_stop_resume_elsewhere_without_gaps_or_repeats(outcome: Outcome) -> None:
    clients = outcome.report["clients"]
    assert clients.get("stream_reconnects", 0) + clients.get("stream_ended_by_server", 0) >= 1
    assert {key: clients.get(key, 0) for key in STREAM_BREAKS} == dict.fromkeys(STREAM_BREAKS, 0)


def test_every_agent_message_has_a_delivery_time(outcome: Outcome) -> None:
    latency = outcome.report["latency"]["agent_to_customer_ms"]
    assert latency["count"] == 30
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]


def test_the_report_names_postgres_and_the_instances(outcome: Outcome) -> None:
    config = outcome.report["config"]
    assert config["database"].startswith("postgresql+asyncpg://")
    assert config["instances"] == 2
    assert config["redis"] == (SEVERAL.redis_url or None)


def test_the_driver_refuses_several_instances_on_sqlite(tmp_path: Path) -> None:
    from livehandoff.chaos.stack import ChaosStack, SeededWorld, StackError

    with pytest.raises(StackError, match=r"--database-url postgresql\+asyncpg://"):
        ChaosStack(tmp_path, SeededWorld.create(1), instances=2)


@pytest.mark.parametrize("database", [[], ["--database-url", "sqlite+aiosqlite:///./bridge.sqlite3"]])
def test_the_command_refuses_several_instances_on_sqlite_in_one_line(
    database: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from livehandoff import cli

    monkeypatch.setattr(cli, "configure_logging", lambda level: None)
    args = cli.build_parser().parse_args(["chaos", "--instances", "3", *database])
    with pytest.raises(SystemExit) as refused:
        args.run(args)

    message = str(refused.value)
    assert "--database-url postgresql+asyncpg://" in message
    assert "\n" not in message
