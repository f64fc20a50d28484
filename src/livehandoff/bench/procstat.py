"""What a process costs, read from ``/proc`` (Linux): CPU time, resident memory, open-file limit."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` so far (``/proc/<pid>/stat`` fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (``VmRSS`` in ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ValueError(f"no VmRSS for process {pid}")


@dataclass(frozen=True, slots=True)
class FileLimit:
    """``RLIMIT_NOFILE`` of this process (and of the children it starts) after :func:`raise_file_limit`."""

    soft: int
    hard: int
    raised_from: int | None

    def as_json(self) -> dict[str, int | None]:
        return {"soft": self.soft, "hard": self.hard, "raised_from": self.raised_from}


def raise_file_limit(needed: int) -> FileLimit:
    """Raise the soft open-file limit towards ``needed`` (at most the hard limit). Children started
    afterwards inherit it, so the bridge can hold as many streams as the driver opens."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return FileLimit(soft, hard, None)
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return FileLimit(target, hard, soft)


class CpuMeter:
    """CPU seconds of several processes between two readings."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._start = self._read()

    def _read(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def restart(self) -> None:
        self._start = self._read()

    def used(self) -> dict[str, float]:
        now = self._read()
        return {name: now[name] - self._start[name] for name in self.pids}
