"""This instance's leases: which conversations' work it holds, kept alive while it works.

Several instances share one database. Work that must be done by one of them at a time (a conversation's
outbox, the checks on a customer waiting for an agent) is claimed as a lease in the store; the keeper
renews every lease it holds in the background, so a lease outlives steps of any length, and lets go of
them when the instance stops. An instance that dies stops renewing: its leases lapse after ``ttl`` and
the next sweep of another instance takes the work over.

A lease is not a lock: nothing waits on it, and no one holds it across a network call in the sense of
blocking others — the others simply leave that work alone until it is free.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from datetime import datetime, timedelta

import structlog

from livehandoff.ports import Clock, Leases

log = structlog.get_logger("livehandoff.leases")

HOLD_MARGIN_SECONDS = 1.0

LEASE_SECONDS = 10.0
"""How long a lease lasts without renewal: how soon another instance takes over the work of a dead one."""


def instance_name() -> str:
    """A name for this process that no other instance shares: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseKeeper:
    """Claims, renews and gives back the leases of one instance (``owner``)."""

    def __init__(self, store: Leases, clock: Clock, *, owner: str, ttl: float = LEASE_SECONDS) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self.owner = owner
        self._held: dict[str, datetime] = {}
        """Each lease held, with when it runs out as far as the store last agreed."""
        self._claims = 0
        self._claimed: dict[str, int] = {}
        """Which claim each held lease comes from: a renewal answers for the claims it asked about."""
        self._local: set[str] = set()
        self._alone = False
        self._renewer: asyncio.Task[None] | None = None

    @property
    def is_alone(self) -> bool:
        return self._alone

    def alone(self) -> None:
        """This instance is the only one (SQLite, and it holds the instance lease): from now on leases are
        kept in this process only, which saves two writes each time a conversation's work starts."""
        self._alone = True

    async def claim(self, key: str) -> bool:
        """Take ``key`` for this instance (or keep it); False when another instance holds it."""
        if self._alone:
            self._local.add(key)
            return True
        now = self._clock.now()
        until = now + timedelta(seconds=self._ttl)
        if not await self._store.claim(key, self.owner, now=now, until=until):
            return False
        self._held[key] = until
        self._claims += 1
        self._claimed[key] = self._claims
        self._start_renewing()
        return True

    def holds(self, key: str) -> bool:
        """Whether the lease is ours, with a second to spare: a renewal that is late (a stalled process, a
        slow store) makes the work stop before another instance may take it over."""
        if key in self._local:
            return True
        until = self._held.get(key)
        return until is not None and self._clock.now() < until - timedelta(seconds=HOLD_MARGIN_SECONDS)

    async def release(self, key: str) -> None:
        """Give ``key`` back at once, so another instance need not wait for it to lapse."""
        if key in self._local:
            self._local.discard(key)
            return
        self._held.pop(key, None)
        self._claimed.pop(key, None)
        await self._store.release(self.owner, [key])

    async def renew(self) -> None:
        """Extend every held lease; a lease found lapsed (the instance stalled) is dropped from the held."""
        if not self._held:
            return
        asked = dict(self._claimed)
        until = self._clock.now() + timedelta(seconds=self._ttl)
        kept = await self._store.renew(self.owner, asked, until=until)
        lost = []
        for key, claim in asked.items():
            if self._claimed.get(key) != claim:
                continue  # released, or released and claimed again, while the renewal was under way
            if key in kept:
                self._held[key] = until
            else:
                lost.append(key)
                del self._held[key], self._claimed[key]
        if lost:
            log.warning("leases.lost", keys=sorted(lost))

    def _start_renewing(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_forever())

    async def _renew_forever(self) -> None:
        while self._held:
            await asyncio.sleep(self._ttl / 3)
            try:
                await self.renew()
            except Exception as exc:  # a store outage: try again; the leases may lapse meanwhile
                log.warning("leases.renew_failed", error=type(exc).__name__)

    async def aclose(self) -> None:
        """Stop renewing and give every lease back (the caller has finished the work under them)."""
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None
        self._local.clear()
        held, self._held, self._claimed = list(self._held), {}, {}
        if held:
            await self._store.release(self.owner, held)
