"""The real clock. Everything that reads the time takes a ``ports.Clock``, so tests can set it."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
