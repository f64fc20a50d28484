"""The benchmark's rows — each measure of issue 12's table with its target — the printed table and the
JSON report."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

CPU_MS_TARGET = 3.0
THROUGHPUT_RATIO_TARGET = 0.6
LATENCY_P50_TARGET_MS = 15.0
LATENCY_P99_TARGET_MS = 50.0
AGENT_P99_TARGET_MS = 20.0
NEW_CUSTOMER_TRIPS_TARGET = 2
RETURNING_TRIPS_TARGET = 1
NAIVE_SPEED_UP_TARGET = 3.0
RSS_TARGET_MIB = 1024.0
UNCHANGED_THROUGHPUT = 0.9
"""With the idle streams open, the relay counts as unchanged at ≥ 90 % of its throughput without them
and a p99 latency at most 10 % (or 5 ms) above it."""


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    measure: str
    measured: str
    target: str
    passed: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "measure": self.measure,
            "measured": self.measured,
            "target": self.target,
            "result": "PASS" if self.passed else "FAIL",
        }


def build_rows(results: dict[str, Any], database: str) -> list[Row]:
    """Every row, in the order of the issue's table."""
    return [
        *_relay_rows(results["relay"], database),
        *_handoff_rows(results["handoffs"]),
        *_idle_rows(results["idle_streams"], results["relay"]),
    ]


def _relay_rows(relay: dict[str, Any], database: str) -> list[Row]:
    bridge, direct = relay["bridge_flat_out"], relay["direct_flat_out"]
    cpu = bridge["cpu_ms_per_message"]
    ratio = bridge["throughput_per_s"] / direct["throughput_per_s"]
    latency = relay["bridge_paced"]["post_to_livechat"]
    p50, p99 = latency["p50_ms"], latency["p99_ms"]
    agent = relay["agent_to_customer"]["webhook_to_stream"]
    return [
        Row(
            "cpu_per_message",
            f"bridge CPU per relayed customer message ({database})",
            f"{cpu:.2f} ms",
            f"≤ {CPU_MS_TARGET:g} ms",
            cpu <= CPU_MS_TARGET,
        ),
        Row(
            "throughput_ratio",
            "relay throughput, bridge ÷ LiveChat-direct",
            f"{bridge['throughput_per_s']:.0f}/s ÷ {direct['throughput_per_s']:.0f}/s = {ratio:.2f}"
            + (f"; posts refused: {_statuses(bridge['refused'])}" if bridge["refused"] else ""),
            f"≥ {THROUGHPUT_RATIO_TARGET:g}",
            ratio >= THROUGHPUT_RATIO_TARGET,
        ),
        Row(
            "post_to_livechat",
            f"added latency post → LiveChat at {relay['half_rate_per_s']:g}/s (half the bridge's)",
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
            f"p50 ≤ {LATENCY_P50_TARGET_MS:g} ms, p99 ≤ {LATENCY_P99_TARGET_MS:g} ms",
            p50 <= LATENCY_P50_TARGET_MS and p99 <= LATENCY_P99_TARGET_MS,
        ),
        Row(
            "agent_to_customer",
            "agent → customer: webhook in → customer's stream",
            f"p99 {agent['p99_ms']:.1f} ms (p50 {agent['p50_ms']:.1f} ms)",
            f"p99 ≤ {AGENT_P99_TARGET_MS:g} ms",
            agent["p99_ms"] <= AGENT_P99_TARGET_MS,
        ),
    ]


def _handoff_rows(handoffs: dict[str, Any]) -> list[Row]:
    rtt = handoffs["rtt_ms"]
    new, returning, naive = handoffs["new_customer"], handoffs["returning_customer"], handoffs["naive_recipe"]
    rows = [
        _trips_row("calls_new_customer", "new customer", new, NEW_CUSTOMER_TRIPS_TARGET),
        _trips_row("calls_returning_customer", "returning customer", returning, RETURNING_TRIPS_TARGET),
        _latency_row("handoff_new_customer", "new customer", new, rtt),
        _latency_row("handoff_returning_customer", "returning customer", returning, rtt),
    ]
    speed_up = naive["latency"]["p50_ms"] / new["latency"]["p50_ms"]
    rows.append(
        Row(
            "handoff_vs_naive",
            f"naive recipe ({naive['round_trips']['max']} calls) ÷ livehandoff, new customer, p50",
            f"{naive['latency']['p50_ms']:.0f} ms ÷ {new['latency']['p50_ms']:.0f} ms = {speed_up:.2f}x",
            f"≥ {NAIVE_SPEED_UP_TARGET:g}x faster",
            speed_up >= NAIVE_SPEED_UP_TARGET,
        )
    )
    return rows


def _trips_row(key: str, who: str, handoff: dict[str, Any], target: int) -> Row:
    trips = handoff["round_trips"]["max"]
    path = " → ".join(" + ".join(sorted(trip)) for trip in handoff["critical_path"])
    return Row(
        key,
        f"LiveChat round trips on the handoff's path, {who}",
        f"{trips}: {path}" if path else str(trips),
        f"≤ {target}",
        trips <= target,
    )


def _latency_row(key: str, who: str, handoff: dict[str, Any], rtt: float) -> Row:
    trips = handoff["round_trips"]["max"]
    bound = 1.2 * trips * rtt + 20
    p50 = handoff["latency"]["p50_ms"]
    return Row(
        key,
        f"handoff latency, {rtt:g} ms per LiveChat round trip, {who}",
        f"p50 {p50:.0f} ms (max {handoff['latency']['max_ms']:.0f} ms)",
        f"≤ {bound:.0f} ms (1.2 x {trips} x {rtt:g} + 20)",
        p50 <= bound,
    )


def _idle_rows(idle: dict[str, Any], relay: dict[str, Any]) -> list[Row]:
    count, opened = idle["streams"], idle["opened"]
    rss = idle["bridge_rss_mib"]
    flat, paced = idle["bridge_flat_out"], idle["bridge_paced"]
    throughput, before = flat["throughput_per_s"], relay["bridge_flat_out"]["throughput_per_s"]
    p99, p99_before = (
        paced["post_to_livechat"].get("p99_ms", math.nan),
        relay["bridge_paced"]["post_to_livechat"]["p99_ms"],
    )
    share = throughput / before
    p99_bound = max(p99_before * 1.1, p99_before + 5)
    refused = sum(flat["refused"].values()) + sum(paced["refused"].values())
    measured = f"{throughput:.0f}/s ({share:.2f}x), p99 post → LiveChat {p99:.0f} ms (was {p99_before:.0f})"
    if refused:
        measured += f"; {refused} posts refused ({_statuses(flat['refused'], paced['refused'])})"
    opened_note = "" if opened == count else f" ({opened:,} opened; {_statuses(idle['refused'])})"
    return [
        Row(
            "idle_streams_rss",
            f"{count:,} idle event streams: bridge RSS",
            f"{rss['with_streams']:.0f} MiB ({rss['before']:.0f} MiB before; idle, the bridge uses"
            f" {idle['bridge_utilisation_idle']:.0%} of a core){opened_note}",
            f"≤ {RSS_TARGET_MIB:.0f} MiB",
            rss["with_streams"] <= RSS_TARGET_MIB and opened == count,
        ),
        Row(
            "idle_streams_relay",
            f"relay with {opened:,} idle streams open",
            measured,
            f"≥ {UNCHANGED_THROUGHPUT:g}x, p99 ≤ {p99_bound:.0f} ms, none refused",
            share >= UNCHANGED_THROUGHPUT and p99 <= p99_bound and not refused,
        ),
    ]


def _statuses(*counts: dict[str, int]) -> str:
    total: dict[str, int] = {}
    for count in counts:
        for status, n in count.items():
            total[status] = total.get(status, 0) + n
    return ", ".join(f"{n} {status}" for status, n in sorted(total.items()))


def table(rows: list[Row]) -> list[str]:
    """The rows as a plain-text table: measure, measured, target, PASS/FAIL."""
    header = ("measure", "measured", "target", "result")
    cells = [header] + [(r.measure, r.measured, r.target, "PASS" if r.passed else "FAIL") for r in rows]
    widths = [max(len(line[column]) for line in cells) for column in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return [line.rstrip() for line in lines]
