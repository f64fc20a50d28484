"""``livehandoff chaos``: many conversations through the bridge under faults and one ``kill -9``, checked
message by message.

The LiveChat emulator, the Dialogflow emulator and the bridge run as separate processes on loopback
(:mod:`.stack`); the driver plays every customer on the customer API and every agent on LiveChat's Agent
Chat API (:mod:`.clients`) through the phases of :mod:`.run`; :mod:`.check` counts what was lost,
duplicated and out of order in each direction. The run writes a JSON report and ends its output with
``chaos: conversations=N messages=M lost=L duplicated=D out_of_order=O``. docs/reliability.md explains
the design and the figures measured.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from livehandoff.chaos.clients import DriverError
from livehandoff.chaos.report import Outcome, build_report, summary
from livehandoff.chaos.run import DEFAULT_FAULTS, ChaosOptions, ChaosRun
from livehandoff.chaos.stack import ChaosStack, SeededWorld, StackError

__all__ = ["DEFAULT_FAULTS", "ChaosOptions", "Outcome", "chaos", "run_chaos"]

T = TypeVar("T")


async def run_chaos(options: ChaosOptions, *, workdir: Path, say: Callable[[str], None] = print) -> Outcome:
    """Start the stack in ``workdir`` (logs, seed, database), run, stop every process, report."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    began = time.monotonic()
    stack = ChaosStack(workdir, SeededWorld.create(options.agents), database_url=options.database_url)
    limits = httpx.Limits(max_connections=options.concurrency * 2 + 20, max_keepalive_connections=50)
    try:
        await stack.start()
        say(f"chaos: bridge {stack.bridge_url}, LiveChat emulator {stack.livechat_url}, logs in {workdir}")
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0), limits=limits) as http,
            httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0), limits=limits) as streams,
        ):
            run = ChaosRun(options, stack, http, streams, say)
            run.timings["stack_start_s"] = round(time.monotonic() - began, 2)
            await run.run()
    finally:
        await stack.aclose()
    outcome = build_report(run, started_at, time.monotonic() - began)
    outcome.report["bridge_starts"] = stack.bridge_starts
    return outcome


async def _interruptible(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work``, cancelling it on ``SIGTERM`` as Ctrl-C does, so the stack's processes are stopped."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await work
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def chaos(
    options: ChaosOptions,
    *,
    report_path: Path,
    keep_logs: bool = False,
    say: Callable[[str], None] = print,
) -> int:
    """The command: run, write the report, print the summary last; 0 only when everything arrived once,
    in order. Logs are kept (and named in the report) when the run failed or ``keep_logs`` asks."""
    if not options.faults.is_file():
        raise SystemExit(f"livehandoff: no fault file at {options.faults}")
    workdir = Path(tempfile.mkdtemp(prefix="livehandoff-chaos-"))
    try:
        outcome = asyncio.run(_interruptible(run_chaos(options, workdir=workdir, say=say)))
    except (StackError, DriverError) as exc:
        say(f"chaos: the run stopped: {exc} (logs in {workdir})")
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        say(f"chaos: interrupted; every process was stopped (logs in {workdir})")
        return 130
    keep = keep_logs or not outcome.ok
    outcome.report["logs"] = str(workdir) if keep else None
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(outcome.report, indent=2) + "\n", encoding="utf-8")
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    for line in summary(outcome):
        say(line)
    say(f"chaos: report {report_path}" + (f", logs {workdir}" if keep else ""))
    say(outcome.line)
    return 0 if outcome.ok else 1
