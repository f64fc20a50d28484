"""Per-session state: active contexts with lifespans, and a turn counter.

Context rules (Dialogflow ES docs on contexts; ``dialogflow.md`` §1.4 and §2.2):

* ``queryParams.resetContexts`` drops every context before the query; ``queryParams.contexts`` are
  activated before the query. A lifespan of 0 deactivates.
* After the match, every context that was active loses one turn; those at 0 are gone. Then the
  matched intent's ``resetContexts`` clears all, and its output contexts are set with their own
  lifespans (0 deactivates) and with the turn's parameters (``name`` and ``name.original``).
* Contexts also expire 20 minutes after the session's last query.

Pending slot filling (``slotfilling.py``) is session state too and expires with the contexts.

The turn arithmetic is pure (``begin_turn``, ``end_turn``); :class:`SessionStore` only keeps the
result per session path. Handlers never await between reading and writing a session, so one event
loop cannot interleave two turns of the same session.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from livehandoff.emulators.dialogflow.model import Intent, JsonValue
from livehandoff.emulators.dialogflow.slotfilling import PendingSlots

#: Contexts expire this long after the last query of their session (ES docs: 20 minutes).
CONTEXT_TTL_SECONDS = 20 * 60

Contexts = Mapping[str, "ActiveContext"]


@dataclass(frozen=True, slots=True)
class ActiveContext:
    """A context that is active for ``lifespan`` more turns."""

    lifespan: int
    parameters: Mapping[str, JsonValue] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class SessionState:
    """What the emulator remembers about one session path."""

    contexts: Contexts = field(default_factory=lambda: MappingProxyType({}))
    turns: int = 0
    last_seen: float | None = None
    pending: PendingSlots | None = None


def context_id(name: str) -> str:
    """The context id of a full ``.../contexts/<id>`` name or a bare id, lower-cased."""
    return name.rsplit("/contexts/", 1)[-1].rsplit("/", 1)[-1].lower()


def begin_turn(
    contexts: Contexts, *, reset: bool, supplied: Iterable[tuple[str, int, Mapping[str, JsonValue]]]
) -> dict[str, ActiveContext]:
    """The contexts the query is matched against, after the caller's query parameters."""
    active = {} if reset else dict(contexts)
    for name, lifespan, parameters in supplied:
        if lifespan <= 0:
            active.pop(name, None)
        else:
            active[name] = ActiveContext(lifespan, MappingProxyType(dict(parameters)))
    return active


def end_turn(
    contexts: Contexts, intent: Intent | None, parameters: Mapping[str, JsonValue]
) -> dict[str, ActiveContext]:
    """The contexts after the turn: one turn older, then the matched intent's output contexts."""
    remaining = {
        name: replace(context, lifespan=context.lifespan - 1)
        for name, context in contexts.items()
        if context.lifespan > 1
    }
    if intent is None:
        return remaining
    if intent.reset_contexts:
        remaining = {}
    for spec in intent.output_contexts:
        if spec.lifespan <= 0:
            remaining.pop(spec.name, None)
            continue
        previous = contexts.get(spec.name)
        merged = {**(previous.parameters if previous else {}), **spec.parameters, **parameters}
        remaining[spec.name] = ActiveContext(spec.lifespan, MappingProxyType(merged))
    return remaining


class SessionStore:
    """Session states by full session path, in memory; the clock is injectable for tests."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, ttl: float = CONTEXT_TTL_SECONDS
    ) -> None:
        self._clock = clock
        self._ttl = ttl
        self._sessions: dict[str, SessionState] = {}

    def load(self, session: str) -> SessionState:
        """The session's state; contexts are dropped when the session was idle past the TTL."""
        state = self._sessions.get(session, SessionState())
        if state.last_seen is not None and self._clock() - state.last_seen > self._ttl:
            state = replace(state, contexts=MappingProxyType({}), pending=None)
        return state

    def save(
        self, session: str, contexts: Mapping[str, ActiveContext], turns: int, pending: PendingSlots | None
    ) -> None:
        state = SessionState(MappingProxyType(dict(contexts)), turns, self._clock(), pending)
        self._sessions[session] = state

    def __len__(self) -> int:
        return len(self._sessions)
