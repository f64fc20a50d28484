"""``livehandoff bench``: what a relayed message costs, how fast a handoff is, against two baselines.

The LiveChat emulator, the Dialogflow emulator and the bridge run as separate processes on loopback
(:mod:`.stack`, the chaos run's stack), the bridge's LiveChat traffic through a proxy that adds a
round trip and counts the calls (:mod:`.proxy`). The driver plays customers on the bridge's customer
API, agents on LiveChat's Agent Chat API, and the two baselines on LiveChat's Customer Chat API: the
naive recipe (one blocking call at a time) and LiveChat-direct (the same customers sending straight to
LiveChat) — :mod:`.clients`. The phases are in :mod:`.run` and :mod:`.load`; :mod:`.report` turns
what was measured into rows with their targets. docs/performance.md explains each row and holds the
figures measured.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from livehandoff import __version__
from livehandoff.bench.clients import BaselineApp, BenchError, LiveChatCustomers
from livehandoff.bench.http1 import ProtocolError
from livehandoff.bench.procstat import raise_file_limit
from livehandoff.bench.report import Row, build_rows, table
from livehandoff.bench.run import QUICK, BenchOptions, BenchRun
from livehandoff.bench.stack import BenchStack, BenchWorld
from livehandoff.chaos.clients import Agents, DriverError
from livehandoff.chaos.processes import HOST, interruptible
from livehandoff.chaos.stack import StackError
from livehandoff.storage.engine import normalise_url

__all__ = ["QUICK", "BenchOptions", "bench", "bench_options", "run_bench"]

FILES_PER_CONVERSATION = 4
"""Open files the driver needs per load conversation: its posts, its stream, LiveChat-direct, the proxy."""
FILES_SPARE = 512


def bench_options(*, quick: bool = False, **given: Any) -> BenchOptions:
    """The defaults (or the quick ones), with every option that was given (not None) put over them."""
    base = QUICK if quick else BenchOptions()
    return dataclasses.replace(base, **{name: value for name, value in given.items() if value is not None})


def _files_needed(options: BenchOptions) -> int:
    return options.idle_streams + options.conversations * FILES_PER_CONVERSATION + FILES_SPARE


async def run_bench(
    options: BenchOptions, *, workdir: Path, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Start the stack in ``workdir`` (logs, seed, database), measure, stop every process; the report."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = _load_average()
    began = time.monotonic()
    limit = raise_file_limit(_files_needed(options))
    streams = max(0, min(options.idle_streams, limit.soft - (_files_needed(options) - options.idle_streams)))
    world = BenchWorld.create(options.agents)
    assert isinstance(world, BenchWorld)
    max_chats = max(60, -(-(2 * options.conversations + options.handoffs + 10) // options.agents))
    stack = BenchStack(workdir, world, max_chats=max_chats, database_url=options.database_url)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=50)
    try:
        await stack.start()
        say(f"bench: bridge {stack.bridge_url}, LiveChat emulator {stack.livechat_url}, logs in {workdir}")
        app = BaselineApp(
            world.baseline_client_id,
            world.baseline_client_secret,
            world.baseline_refresh_token,
            stack.organization_id,
        )
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0), limits=limits) as http:
            run = BenchRun(
                options,
                stack,
                Agents(http, stack.livechat_url, stack.admin),
                LiveChatCustomers(app, *stack.livechat_host_port),
                LiveChatCustomers(app, HOST, stack.livechat_proxy.port),
                say,
            )
            run.idle_streams = streams
            run.timings["stack_start_s"] = round(time.monotonic() - began, 2)
            await run.run()
    finally:
        await stack.aclose()
    database = normalise_url(stack.database_url).render_as_string(hide_password=True)
    rows = build_rows(run.results, "PostgreSQL" if database.startswith("postgresql") else "SQLite")
    return {
        "ok": all(row.passed for row in rows),
        "started_at": started_at,
        "version": __version__,
        "commit": _commit(),
        "config": {**dataclasses.asdict(options), "database_url": database},
        "machine": {**_machine(), "load_average_at_start": load_before},
        "file_limit": {
            **limit.as_json(),
            "idle_streams_requested": options.idle_streams,
            "idle_streams": streams,
        },
        "timings": {**run.timings, "total_s": round(time.monotonic() - began, 2)},
        "rows": [row.as_json() for row in rows],
        "results": run.results,
        "livechat_calls": dict(stack.livechat_proxy.counts),
    }


def _commit() -> str | None:
    """The checked-out commit, when the code runs from a git work tree (and git is there)."""
    try:
        found = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - whichever git is on the PATH
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip() or None


def _machine() -> dict[str, Any]:
    memory = None
    with_meminfo = Path("/proc/meminfo")
    if with_meminfo.is_file():
        first = with_meminfo.read_text().splitlines()[0].split()
        memory = round(int(first[1]) / (1 << 20), 1)
    return {
        "cpus": os.cpu_count(),
        "memory_gib": memory,
        "load_average": _load_average(),
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def _load_average() -> list[float] | None:
    """The machine's load over 1, 5 and 15 minutes: other work on it skews throughput and latency
    (CPU time per message much less)."""
    try:
        return [float(part) for part in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


def bench(
    options: BenchOptions,
    *,
    report_path: Path,
    keep_logs: bool = False,
    say: Callable[[str], None] = print,
) -> int:
    """The command: run, write the report, print the table last; 0 when every target passed, 1 when one
    failed, 2 when the run could not measure everything."""
    workdir = Path(tempfile.mkdtemp(prefix="livehandoff-bench-"))
    try:
        report = asyncio.run(interruptible(run_bench(options, workdir=workdir, say=say)))
    except (StackError, DriverError, BenchError, ProtocolError, TimeoutError) as exc:
        say(f"bench: the run stopped: {exc!r} (logs in {workdir})")
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        say(f"bench: interrupted; every process was stopped (logs in {workdir})")
        return 130
    report["logs"] = str(workdir) if keep_logs else None
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if not keep_logs:
        shutil.rmtree(workdir, ignore_errors=True)
    _say_summary(report, say)
    say(f"bench: report {report_path}" + (f", logs {workdir}" if keep_logs else ""))
    return 0 if report["ok"] else 1


def _say_summary(report: dict[str, Any], say: Callable[[str], None]) -> None:
    limit = report["file_limit"]
    if limit["idle_streams"] < limit["idle_streams_requested"]:
        say(
            f"bench: only {limit['idle_streams']} idle streams: the open-file limit is {limit['soft']}"
            f" (hard {limit['hard']})"
        )
    elif limit["raised_from"] is not None:
        say(f"bench: open-file limit raised from {limit['raised_from']} to {limit['soft']}")
    rows = [
        Row(r["key"], r["measure"], r["measured"], r["target"], r["result"] == "PASS") for r in report["rows"]
    ]
    for line in table(rows):
        say(line)
