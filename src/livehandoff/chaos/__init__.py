"""``livehandoff chaos``: many conversations through the bridge under faults, one ``kill -9`` and, with
several instances, a rolling restart, checked message by message.

The LiveChat emulator, the Dialogflow emulator and the bridge — one instance, or several on one
PostgreSQL database behind a round-robin proxy of the run's own (:mod:`.proxy`) — run as separate
processes on loopback (:mod:`.stack`); the driver plays every customer on the customer API and every
agent on LiveChat's Agent Chat API (:mod:`.clients`) through the phases of :mod:`.run`, while
:mod:`.outages` kills and restarts instances; :mod:`.check` counts what was lost, duplicated and out of
order in each direction. The run writes a JSON report and ends its output with
``chaos: conversations=N messages=M lost=L duplicated=D out_of_order=O``. docs/reliability.md explains
the design and the figures measured.
"""

from __future__ import annotations

import asyncio
import json
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from livehandoff.chaos.clients import DriverError
from livehandoff.chaos.processes import interruptible
from livehandoff.chaos.report import Outcome, build_report, summary
from livehandoff.chaos.run import DEFAULT_FAULTS, ChaosOptions, ChaosRun
from livehandoff.chaos.stack import ChaosStack, SeededWorld, StackError

__all__ = ["DEFAULT_FAULTS", "ChaosOptions", "Outcome", "chaos", "run_chaos"]


async def run_chaos(options: ChaosOptions, *, workdir: Path, say: Callable[[str], None] = print) -> Outcome:
    """Start the stack in ``workdir`` (logs, seed, database), run, stop every process, report."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    began = time.monotonic()
    stack = ChaosStack(
        workdir,
        SeededWorld.create(options.agents),
        database_url=options.database_url,
        instances=options.instances,
        redis_url=options.redis_url,
    )
    try:
        await stack.start()
        say(f"chaos: {_bridge(stack)}, LiveChat emulator {stack.livechat_url}, logs in {workdir}")
        async with (
            _client(options, 30.0) as http,
            _client(options, 30.0, spread=stack.proxy is not None) as customer_http,
            _client(options, 60.0, spread=stack.proxy is not None) as streams,
        ):
            run = ChaosRun(options, stack, http, streams, say, customer_http=customer_http)
            run.timings["stack_start_s"] = round(time.monotonic() - began, 2)
            await run.run()
    finally:
        cpu = stack.cpu_seconds()
        await stack.aclose()
    outcome = build_report(run, started_at, time.monotonic() - began)
    outcome.report["bridge_starts"] = stack.bridge_starts
    usage = resource.getrusage(resource.RUSAGE_SELF)
    outcome.report["cpu_seconds"] = {**cpu, "driver": round(usage.ru_utime + usage.ru_stime, 1)}
    return outcome


def _bridge(stack: ChaosStack) -> str:
    if stack.proxy is None:
        return f"bridge {stack.bridge_url}"
    return f"{len(stack.instances)} bridge instances behind {stack.bridge_url}"


def _client(options: ChaosOptions, timeout: float, *, spread: bool = False) -> httpx.AsyncClient:
    """A pooled client; with ``spread``, one that keeps no connection alive, so that every request is a
    new connection the proxy sends to the next instance (as many customers' browsers would spread),
    rather than all of them riding the few connections a pool keeps open."""
    limits = httpx.Limits(
        max_connections=options.concurrency * 2 + 20, max_keepalive_connections=0 if spread else 50
    )
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=5.0), limits=limits)


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
        outcome = asyncio.run(interruptible(run_chaos(options, workdir=workdir, say=say)))
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
