"""Routing accepted customer messages until they arrive, in order, across failures and restarts.

A customer message is stored together with an outbox row before the API answers ``202``. One worker per
conversation — in one instance only: it holds the conversation's lease (``leases.py``) — takes the
conversation's rows oldest first; a message that LiveChat cannot take now stays at
the head of the queue and is retried with exponential backoff and jitter (or after LiveChat's
``Retry-After``), so later messages never overtake it. A sweeper restarts work for every conversation
with rows — after a crash, or when a worker died — so nothing accepted is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable

import structlog

from livehandoff.leases import LeaseKeeper

log = structlog.get_logger("livehandoff.delivery")

BASE_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 30.0
SWEEP_SECONDS = 5.0


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before attempt ``attempts + 1``: what LiveChat asked for, else exponential with jitter."""
    if retry_after is not None and retry_after > 0:
        return min(retry_after, MAX_DELAY_SECONDS * 4)
    delay = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2.0**attempts)
    return delay * random.uniform(0.8, 1.2)


Step = Callable[[str], Awaitable[float | None]]
"""One step of work for a conversation: ``None`` when there is nothing left, else the seconds to wait
before the next step (0 to go on at once). Routing the oldest due outbox message is one such step;
checking on a customer who waits for an agent is another."""


class ConversationWorkers:
    """At most one worker per conversation repeating a ``Step``, plus a sweeper that finds work the
    store says is left (after a restart, when a worker died, or when another instance let go of it).

    With ``leases``, a worker first claims the lease ``<name>:<conversation>`` and works only while it
    holds it, so among several instances one works a conversation at a time. When it has run out of work
    it stays ``linger`` seconds more, holding the lease, for more work: a kick from this instance, or a
    ``nudge`` when another instance stored something for the conversation. Then it gives the lease back
    and asks ``has_work`` once more: work another instance queued meanwhile (and could not take, the
    lease being held) is picked up at once rather than at the next sweep. Lingering saves a busy
    conversation a claim and a release per message.
    """

    def __init__(
        self,
        step: Step,
        pending: Callable[[], Awaitable[list[str]]],
        *,
        name: str = "work",
        leases: LeaseKeeper | None = None,
        has_work: Callable[[str], Awaitable[bool]] | None = None,
        linger: float = 0.0,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        self._step = step
        self._pending = pending
        self._name = name
        self._leases = leases
        self._has_work = has_work
        self._linger = linger
        self._sweep_seconds = sweep_seconds
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._lingering: dict[str, asyncio.Event] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def kick(self, conversation_id: str) -> None:
        """Make sure a worker will look at this conversation."""
        if self._stopping.is_set():
            return
        if conversation_id in self._workers:
            self.nudge(conversation_id)
            return
        self._workers[conversation_id] = asyncio.create_task(self._work(conversation_id))

    def nudge(self, conversation_id: str) -> None:
        """If a worker of this instance has the conversation, have it look again (another instance may have
        queued work for it); start none."""
        if conversation_id in self._workers:
            self._again.add(conversation_id)
            waiting = self._lingering.get(conversation_id)
            if waiting is not None:
                waiting.set()

    async def start(self) -> None:
        """Resume what earlier runs left, and keep sweeping."""
        await self.sweep()
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def sweep(self) -> None:
        for conversation_id in await self._pending():
            self.kick(conversation_id)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_seconds)
            try:
                await self.sweep()
            except Exception as exc:  # a store outage must not end the sweeping
                log.warning("delivery.sweep_failed", error=type(exc).__name__)

    async def _work(self, conversation_id: str) -> None:
        key = f"{self._name}:{conversation_id}"
        claimed = False
        try:
            if self._leases is not None:
                claimed = await self._leases.claim(key)
                if not claimed:
                    return  # another instance works this conversation
            while not self._stopping.is_set():
                if self._leases is not None and not self._leases.holds(key):
                    log.warning("delivery.lease_lost", conversation_id=conversation_id, work=self._name)
                    return
                wait = await self._step(conversation_id)
                if wait is None:
                    if conversation_id in self._again or await self._more_soon(conversation_id):
                        self._again.discard(conversation_id)
                        continue
                    return
                if wait > 0:
                    await self._pause(wait)
        except Exception as exc:  # the rows stay; the sweeper starts a new worker
            log.error("delivery.worker_failed", conversation_id=conversation_id, error=repr(exc))
        finally:
            self._workers.pop(conversation_id, None)
            self._again.discard(conversation_id)
            if claimed:
                await self._let_go(key, conversation_id)

    async def _more_soon(self, conversation_id: str) -> bool:
        """Linger (only while the lease is one several instances share): whether work came meanwhile."""
        if self._linger <= 0 or self._leases is None or self._leases.is_alone:
            return False
        woken = self._lingering[conversation_id] = asyncio.Event()
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._linger):
                    await woken.wait()
        finally:
            del self._lingering[conversation_id]
        return woken.is_set() and not self._stopping.is_set()

    async def _let_go(self, key: str, conversation_id: str) -> None:
        assert self._leases is not None
        try:
            await self._leases.release(key)
            again = self._has_work is not None and not self._stopping.is_set()
            if again and self._has_work is not None and await self._has_work(conversation_id):
                self.kick(conversation_id)
        except Exception as exc:  # the lease lapses by itself; the sweeper finds the work
            log.warning("delivery.release_failed", conversation_id=conversation_id, error=type(exc).__name__)

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up at once when the process stops."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    async def drain(self) -> None:
        """Wait until every worker has run out of work (or given up until the next sweep)."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop: each worker finishes the step it is in (never cut off mid-transaction); what is still
        queued stays in the store for the next start."""
        self._stopping.set()
        for lingering in self._lingering.values():
            lingering.set()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await asyncio.gather(*list(self._workers.values()), return_exceptions=True)
