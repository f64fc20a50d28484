"""Small summaries of what was measured."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0.5 is the median, 0.99 the p99); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary_ms(seconds: Iterable[float]) -> dict[str, float | int]:
    """Count, p50, p90, p99, max and mean of durations given in seconds, in milliseconds."""
    values = [value * 1000 for value in seconds]
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 0.5), 2),
        "p90_ms": round(percentile(values, 0.9), 2),
        "p99_ms": round(percentile(values, 0.99), 2),
        "max_ms": round(max(values), 2),
        "mean_ms": round(sum(values) / len(values), 2),
    }


def utilisation(cpu_seconds: dict[str, float], wall_seconds: float) -> dict[str, float]:
    """Each process's share of one core over ``wall_seconds`` (1.0 is a core kept busy)."""
    if wall_seconds <= 0:
        return {}
    return {name: round(used / wall_seconds, 3) for name, used in cpu_seconds.items()}
