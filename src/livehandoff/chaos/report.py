"""The chaos run's JSON report and the lines it prints.

Besides the counts, the report says where each failure came from as far as the driver can tell: an
agent message whose conversation had agent messages sent while the bridge was down was at the mercy of
LiveChat's webhook retries; a customer message accepted before the kill may have been on its way to
LiveChat when the bridge died. The bridge's log lines (of every instance) about the first conversations
with a problem are copied in (the bridge logs ids, never message text).

It also gives the instances, the kill and the rolling restart, and the agent → customer delivery latency:
from the moment the agent began ``send_event`` to the moment the customer's stream showed the message —
LiveChat's webhook (with its faults: delays, holds, drops and their retries), the bridge applying it, and
the wake-up of the stream, which with several instances is on another instance most of the time.
"""

from __future__ import annotations

import math
import os
import platform
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livehandoff.chaos.check import Findings, total
from livehandoff.chaos.clients import Conversation
from livehandoff.chaos.run import ChaosOptions, ChaosRun
from livehandoff.storage.engine import normalise_url

MAX_PROBLEMS = 50
PROBLEMS_WITH_LOGS = 10
LOG_LINES_PER_PROBLEM = 40
STREAM_BREAKS = ("stream_repeats", "stream_gaps", "stream_transcript_mismatch")
"""Client counters that mean the event stream broke its promise (every event once, in ``seq`` order)."""

DEFINITIONS = {
    "lost": "sent (acknowledged to the sender) and never shown to the other side",
    "duplicated": "extra copies shown: a message shown three times counts two",
    "out_of_order": "messages out of place: arrived messages minus the longest subsequence in sending order",
    "inversions": "pairs of messages shown in the opposite of their sending order",
    "unexpected": "shown but never acknowledged to its sender, or belonging to another conversation",
    "unsent": "messages whose sender got no acknowledgement before its deadline (not counted as sent)",
}


@dataclass(slots=True)
class Outcome:
    """What happened, and the summary line."""

    report: dict[str, Any]
    ok: bool

    @property
    def line(self) -> str:
        cfg, totals = self.report["config"], self.report["totals"]
        return (
            f"chaos: conversations={cfg['conversations']} messages={cfg['messages']} "
            f"lost={totals['lost']} duplicated={totals['duplicated']} out_of_order={totals['out_of_order']}"
        )


Pairs = list[tuple[Conversation, Findings]]


def build_report(run: ChaosRun, started_at: str, total_s: float) -> Outcome:
    """The JSON report; ``ok`` when nothing was lost, doubled, reordered, misdelivered or left unsent."""
    findings = run.findings()
    directions = {name: total(found.tally for _, found in pairs) for name, pairs in findings.items()}
    totals = total(directions.values())
    counters: Counter[str] = Counter()
    for conversation in run.active:
        counters.update(conversation.counters)
    unsent = sum(len(conversation.unsent) for conversation in run.active)
    stream_broken = sum(counters[key] for key in STREAM_BREAKS)
    ok = totals.clean and not (unsent or run.setup_failures or stream_broken or totals.unexpected)
    report = {
        "ok": ok,
        "started_at": started_at,
        "config": _config(run.options),
        "machine": _machine(run.load),
        "timings": {**run.timings, "total_s": round(total_s, 2)},
        "instances": run.stack.instance_count,
        "kills": 1 if run.restart else 0,
        "restarts": len(run.outages.rolling.get("instances", [])),
        "restart": run.restart,
        "rolling_restart": run.outages.rolling,
        "latency": {"agent_to_customer_ms": latency(run.active)},
        "proxy": _proxy(run),
        "totals": {"lost": totals.lost, "duplicated": totals.duplicated, "out_of_order": totals.out_of_order},
        "directions": {name: tally.as_json() for name, tally in directions.items()},
        "around_the_kill": _around_the_kill(findings, run.outage),
        "unsent": unsent,
        "setup_failures": run.setup_failures,
        "clients": dict(sorted(counters.items())),
        "faults": _faults(run.fault_counts),
        "problems": _problems(findings, run.outage, run.stack.bridge_logs),
        "definitions": DEFINITIONS,
    }
    return Outcome(report, ok)


def _config(options: ChaosOptions) -> dict[str, Any]:
    return {
        "conversations": options.conversations,
        "messages": options.messages,
        "concurrency": options.concurrency,
        "rate": options.rate,
        "agents": options.agents,
        "faults": str(options.faults),
        "seed": options.seed,
        "kill": options.kill,
        "kill_in_flight_seconds": options.kill_in_flight_seconds,
        "settle_seconds": options.settle_seconds,
        "retry_horizon_seconds": options.retry_horizon_seconds,
        "database": _database(options.database_url),
        "instances": options.instances,
        "redis": _redis(options.redis_url),
    }


def _database(url: str) -> str:
    if not url:
        return "sqlite (in the run's directory)"
    return normalise_url(url).render_as_string(hide_password=True)


def _redis(url: str) -> str | None:
    if not url:
        return None
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def _machine(load: list[float]) -> dict[str, Any]:
    machine: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "os": platform.platform(),
    }
    if load:
        machine["load_1m"] = {"mean": round(sum(load) / len(load), 2), "max": round(max(load), 2)}
    return machine


def _proxy(run: ChaosRun) -> dict[str, Any] | None:
    """What the proxy spread, and how long instances took to begin answering, per kind of request."""
    proxy = run.stack.proxy
    if proxy is None:
        return None
    waited = {kind: milliseconds(samples) for kind, samples in sorted(proxy.first_answer_s.items())}
    return {**proxy.stats(), "first_answer_ms": waited}


def latency(conversations: list[Conversation]) -> dict[str, float | int]:
    """The agent → customer delivery time, in milliseconds (see the module docstring)."""
    return milliseconds(
        [
            conversation.shown_at[text] - conversation.send_started[text]
            for conversation in conversations
            for text in conversation.agent_sent
            if text in conversation.shown_at and text in conversation.send_started
        ]
    )


def milliseconds(seconds: list[float]) -> dict[str, float | int]:
    """How many, and percentiles (nearest rank) in milliseconds."""
    samples = sorted(seconds)
    if not samples:
        return {"count": 0}

    def rank(share: float) -> float:
        return round(1000 * samples[max(0, math.ceil(share * len(samples)) - 1)], 1)

    return {"count": len(samples), "p50": rank(0.5), "p90": rank(0.9), "p99": rank(0.99), "max": rank(1.0)}


def _faults(counts: dict[str, Any]) -> dict[str, Any]:
    """Faults injected while they were on: the emulator's counters after minus before."""
    before, after = Counter(counts.get("before", {})), Counter(counts.get("after", {}))
    return {"config": counts.get("config"), "injected": dict(sorted((after - before).items()))}


def _down(conversation: Conversation, text: str, outage: tuple[float, float] | None) -> bool:
    sent = conversation.sent_at.get(text)
    return outage is not None and sent is not None and outage[0] <= sent <= outage[1]


def _around_the_kill(findings: dict[str, Pairs], outage: tuple[float, float] | None) -> dict[str, int]:
    """Failures split by their likely cause: the outage, or the faults (and races) alone."""
    split: Counter[str] = Counter()
    for conversation, found in findings["agent_to_customer"]:
        touched = any(_down(conversation, text, outage) for text in conversation.agent_sent)
        where = "in_conversations_with_agent_messages_sent_while_down" if touched else "elsewhere"
        split[f"agent_to_customer_out_of_order_{where}"] += found.tally.out_of_order
        split[f"agent_to_customer_lost_{where}"] += found.tally.lost
    for conversation, found in findings["customer_to_agent"]:
        for text in found.duplicated:
            sent = conversation.sent_at.get(text)
            before = outage is not None and sent is not None and sent < outage[0]
            split["customer_to_agent_duplicated_" + ("accepted_before_kill" if before else "other")] += 1
    return dict(sorted(split.items()))


def _problems(
    findings: dict[str, Pairs], outage: tuple[float, float] | None, bridge_logs: list[Path]
) -> list[dict[str, Any]]:
    """The first conversations with a failure, with what each side was shown."""
    problems: list[dict[str, Any]] = []
    for direction, pairs in findings.items():
        for conversation, found in pairs:
            if found.tally.clean and not found.unexpected:
                continue
            involved = (*found.lost, *found.duplicated, *found.out_of_place)
            problems.append(
                {
                    "direction": direction,
                    "conversation": conversation.index,
                    "conversation_id": conversation.id,
                    "chat_id": conversation.chat_id,
                    "lost": list(found.lost),
                    "duplicated": list(found.duplicated),
                    "out_of_place": list(found.out_of_place),
                    "unexpected": list(found.unexpected),
                    "sent_s_after_kill": _relative(conversation, involved, outage),
                    "shown": conversation.shown_to_agent
                    if direction == "customer_to_agent"
                    else conversation.shown_to_customer(),
                    "livechat_events": _copies(conversation, direction, involved),
                }
            )
    problems = problems[:MAX_PROBLEMS]
    for problem in problems[:PROBLEMS_WITH_LOGS]:
        problem["bridge_log"] = _log_lines(bridge_logs, (problem["conversation_id"], problem["chat_id"]))
    return problems


def _copies(conversation: Conversation, direction: str, involved: tuple[str, ...]) -> list[dict[str, Any]]:
    """For a customer → agent problem, the chat's events of the messages involved: which copy landed
    when, and under which ``custom_id``."""
    if direction != "customer_to_agent":
        return []
    return [event for event in conversation.agent_view if event.get("text") in involved]


def _relative(
    conversation: Conversation, texts: tuple[str, ...], outage: tuple[float, float] | None
) -> dict[str, float]:
    """When each message was acknowledged to its sender, in seconds after the kill (negative: before)."""
    if outage is None:
        return {}
    return {
        text: round(conversation.sent_at[text] - outage[0], 2)
        for text in texts
        if text in conversation.sent_at
    }


def _log_lines(paths: list[Path], needles: tuple[str, ...]) -> list[str]:
    """The bridge's log lines that name the conversation or its chat; with several instances, each
    prefixed with its log's name and sorted by time (every line starts with its ISO timestamp)."""
    wanted = [needle for needle in needles if needle]
    lines: list[str] = []
    for path in paths:
        if not wanted or not path.exists():
            continue
        prefix = f"[{path.stem}] " if len(paths) > 1 else ""
        with path.open(encoding="utf-8", errors="replace") as log:
            found = [line.rstrip() for line in log if any(needle in line for needle in wanted)]
        lines.extend(prefix + line for line in found)
    if len(paths) > 1:
        lines.sort(key=lambda line: line.partition("] ")[2])
    return lines[-LOG_LINES_PER_PROBLEM:]


def summary(outcome: Outcome) -> list[str]:
    """The lines printed before the final one: per direction, and what else failed."""
    report = outcome.report
    lines = [_disruptions(report)]
    if "load_1m" in report["machine"]:
        load = report["machine"]["load_1m"]
        lines.append(
            f"chaos: machine: {report['machine']['cpus']} cpus, load (1 min) mean {load['mean']:g}"
            f" max {load['max']:g}"
        )
    for name, tally in report["directions"].items():
        shown = " ".join(f"{key}={value}" for key, value in tally.items())
        lines.append(f"chaos: {name}: {shown}")
    if report["unsent"]:
        lines.append(f"chaos: {report['unsent']} messages got no acknowledgement (see the report)")
    if report["setup_failures"]:
        lines.append(f"chaos: {len(report['setup_failures'])} conversations failed to hand off")
    broken = {key: report["clients"][key] for key in STREAM_BREAKS if report["clients"].get(key)}
    if broken:
        lines.append(f"chaos: event streams broke their promise: {broken}")
    return lines


def _disruptions(report: dict[str, Any]) -> str:
    """Instances, kills, restarts and the agent → customer latency, on one line."""
    line = f"chaos: instances={report['instances']} kills={report['kills']} restarts={report['restarts']}"
    measured = report["latency"]["agent_to_customer_ms"]
    if measured.get("count"):
        line += f" agent_to_customer_ms p50={measured['p50']:g} p99={measured['p99']:g}"
    return line
