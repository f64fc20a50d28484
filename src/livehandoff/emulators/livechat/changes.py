"""Who follows an organization's changes: the agent consoles' push channel (:mod:`.console`).

The notifier hands every change to the webhook dispatcher and to this feed. A notice names the
webhook action and the chat only; consoles read the new state through the API.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

from livehandoff.emulators.livechat.notify import Notification

QUEUE_SIZE = 64


class ChangeFeed:
    """Fans every change of an organization out to the consoles listening to it."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}

    def publish(self, note: Notification) -> None:
        """Called synchronously by the notifier, beside webhook delivery."""
        notice: dict[str, Any] = {"action": note.action}
        if note.chat is not None:
            notice["chat_id"] = note.chat.id
        for queue in self._listeners.get(note.organization_id, ()):
            # A full queue means the console is far behind; it reloads everything on the next notice anyway.
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(notice)

    @contextlib.contextmanager
    def listen(self, organization_id: str) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        """A queue of notices for one organization, for as long as the context lasts."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        listeners = self._listeners.setdefault(organization_id, set())
        listeners.add(queue)
        try:
            yield queue
        finally:
            listeners.discard(queue)
            if not listeners:
                self._listeners.pop(organization_id, None)

    def listening(self, organization_id: str) -> int:
        """How many consoles follow the organization right now."""
        return len(self._listeners.get(organization_id, ()))
