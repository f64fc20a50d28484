"""Per-session state of the CX emulator: the current page, the session parameters, a turn counter.

Sessions are keyed by the full session path, so the draft agent and an environment keep separate
sessions, as in CX. A session idle for longer than its TTL (CX ``sessionTtl``, 30 minutes by
default) starts again on the start page with no parameters; so does one that reached
``END_SESSION``. The turn counter survives both, which keeps response ids unique.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from livehandoff.emulators.dialogflow.model import JsonValue

#: CX's default session TTL.
SESSION_TTL_SECONDS = 30 * 60


@dataclass(frozen=True, slots=True)
class CxSession:
    """What the emulator remembers about one session; ``page`` ``None`` is the start page."""

    page: str | None = None
    previous_page: str | None = None
    parameters: Mapping[str, JsonValue] = field(default_factory=lambda: MappingProxyType({}))
    turns: int = 0
    last_seen: float | None = None

    def restarted(self) -> CxSession:
        """The session as a new one would be, keeping only the turn counter."""
        return CxSession(turns=self.turns, last_seen=self.last_seen)


class CxSessionStore:
    """Sessions by full session path, in memory; the clock is injectable for tests."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, ttl: float = SESSION_TTL_SECONDS
    ) -> None:
        self._clock = clock
        self._ttl = ttl
        self._sessions: dict[str, CxSession] = {}

    def load(self, session: str) -> CxSession:
        state = self._sessions.get(session, CxSession())
        if state.last_seen is not None and self._clock() - state.last_seen > self._ttl:
            return state.restarted()
        return state

    def save(self, session: str, state: CxSession) -> None:
        self._sessions[session] = replace(state, last_seen=self._clock())

    def __len__(self) -> int:
        return len(self._sessions)


__all__ = ["SESSION_TTL_SECONDS", "CxSession", "CxSessionStore"]
