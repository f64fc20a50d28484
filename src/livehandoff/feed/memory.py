"""Waking up the event-stream readers of one process.

The feed carries no data: events live in the store. A publish only tells readers that there is
something newer to read, so a missed wake-up costs a poll interval, never a message.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from types import TracebackType
from typing import Self


class InMemorySubscription:
    """One reader waiting on one conversation."""

    def __init__(self, feed: InMemoryFeed, conversation_id: str) -> None:
        self._feed = feed
        self._conversation_id = conversation_id
        self._signal = asyncio.Event()

    async def __aenter__(self) -> Self:
        self._feed._readers[self._conversation_id].add(self._signal)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        readers = self._feed._readers.get(self._conversation_id)
        if readers is not None:
            readers.discard(self._signal)
            if not readers:
                del self._feed._readers[self._conversation_id]

    async def wait(self, max_wait: float) -> bool:
        try:
            async with asyncio.timeout(max_wait):
                await self._signal.wait()
        except TimeoutError:
            return False
        self._signal.clear()
        return True


class InMemoryFeed:
    """Readers registered per conversation in this process."""

    def __init__(self) -> None:
        self._readers: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._watchers: list[Callable[[str], None]] = []

    async def publish(self, conversation_id: str, seq: int) -> None:
        self.wake(conversation_id)

    def wake(self, conversation_id: str) -> None:
        """Wake this process's readers of ``conversation_id``, and tell the watchers."""
        for signal in self._readers.get(conversation_id, ()):
            signal.set()
        for watcher in self._watchers:
            watcher(conversation_id)

    def watch(self, callback: Callable[[str], None]) -> None:
        self._watchers.append(callback)

    def wake_all(self) -> None:
        """Wake every reader of this process (they read the store again and find what they missed)."""
        for readers in self._readers.values():
            for signal in readers:
                signal.set()

    def subscribe(self, conversation_id: str) -> InMemorySubscription:
        return InMemorySubscription(self, conversation_id)
