"""Putting agent messages in order when LiveChat's webhooks arrive out of order.

LiveChat numbers the events of a thread: ``<thread_id>_<n>``. A cursor remembers, for the chat's current
thread, every number up to ``upto`` as handled (shown to the customer, sent by us, or known to be
something else) plus the handled numbers beyond it (``beyond``). An agent message whose number leaves a
hole behind it may have overtaken an earlier agent message: the bridge then reads the thread and shows
what is missing first. Without holes nothing is read, so ordering costs no LiveChat calls in the usual case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ThreadCursor:
    """What of one thread has been handled."""

    thread_id: str
    upto: int = 0
    beyond: frozenset[int] = field(default_factory=frozenset)

    def handled(self, number: int) -> bool:
        return number <= self.upto or number in self.beyond

    def with_handled(self, numbers: Iterable[int]) -> ThreadCursor:
        """The cursor once ``numbers`` are handled too; ``upto`` moves over every run without holes."""
        beyond = set(self.beyond) | {n for n in numbers if n > self.upto}
        upto = self.upto
        while upto + 1 in beyond:
            upto += 1
            beyond.discard(upto)
        return ThreadCursor(self.thread_id, upto, frozenset(beyond))

    def holes_before(self, number: int) -> bool:
        """Whether some number below ``number`` has not been handled."""
        return any(not self.handled(n) for n in range(self.upto + 1, number))


def event_number(event_id: str) -> tuple[str, int] | None:
    """``("K600PKZON8", 3)`` for ``"K600PKZON8_3"``; None for ids of another shape."""
    thread_id, separator, number = event_id.rpartition("_")
    if not separator or not thread_id or not number.isdigit():
        return None
    return thread_id, int(number)


def advance(cursor: ThreadCursor | None, event_ids: Iterable[str]) -> ThreadCursor | None:
    """The cursor once the events ``event_ids`` are handled; a newer thread starts a new cursor."""
    for event_id in event_ids:
        parsed = event_number(event_id)
        if parsed is None:
            continue
        thread_id, number = parsed
        if cursor is None or cursor.thread_id != thread_id:
            cursor = ThreadCursor(thread_id)
        cursor = cursor.with_handled([number])
    return cursor
