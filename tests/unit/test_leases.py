"""The instance's lease keeper: renewal, loss, and a renewal racing a release and a new claim."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from livehandoff.leases import LeaseKeeper

T0 = datetime(2026, 12, 5, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.current = T0

    def now(self) -> datetime:
        return self.current


class Store:
    """Leases in memory. A renewal can be held before its UPDATE runs (``before``) and before its answer
    comes back (``after``), as a real one is while it crosses to the database and back."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, datetime]] = {}
        self.before: asyncio.Event | None = None
        self.after: asyncio.Event | None = None
        self.updated = asyncio.Event()

    async def claim(self, key: str, owner: str, *, now: datetime, until: datetime) -> bool:
        held = self.rows.get(key)
        if held is not None and held[0] != owner and held[1] > now:
            return False
        self.rows[key] = (owner, until)
        return True

    async def renew(self, owner: str, keys: Collection[str], *, until: datetime) -> set[str]:
        if self.before is not None:
            await self.before.wait()
        kept = {key for key in keys if key in self.rows and self.rows[key][0] == owner}
        for key in kept:
            self.rows[key] = (owner, until)
        self.updated.set()
        if self.after is not None:
            await self.after.wait()
        return kept

    async def release(self, owner: str, keys: Collection[str]) -> None:
        for key in list(keys):
            if key in self.rows and self.rows[key][0] == owner:
                del self.rows[key]

    async def holder(self, key: str, *, now: datetime) -> str | None:
        held = self.rows.get(key)
        return held[0] if held is not None and held[1] > now else None


async def test_a_lease_renewed_on_time_is_held_and_a_lapsed_one_is_not() -> None:
    store, clock = Store(), Clock()
    keeper = LeaseKeeper(store, clock, owner="a", ttl=10)
    assert await keeper.claim("outbox:c1")
    clock.current = T0 + timedelta(seconds=8)
    assert keeper.holds("outbox:c1")
    clock.current = T0 + timedelta(seconds=9.5)
    assert not keeper.holds("outbox:c1"), "a renewal this late means the work stops before others may start"
    await keeper.renew()
    assert keeper.holds("outbox:c1")
    await keeper.aclose()
    assert store.rows == {}


async def test_a_lease_taken_by_another_owner_is_lost() -> None:
    store, clock = Store(), Clock()
    keeper = LeaseKeeper(store, clock, owner="a", ttl=10)
    await keeper.claim("outbox:c1")
    store.rows["outbox:c1"] = ("b", T0 + timedelta(seconds=30))
    await keeper.renew()
    assert not keeper.holds("outbox:c1")
    await keeper.aclose()


async def test_a_renewal_racing_a_release_and_a_new_claim_keeps_the_new_claim() -> None:
    """The worker gave the lease back and took it again while a renewal that found no row was on its way:
    the renewal's answer is about the old claim, and must not cost the new one."""
    store, clock = Store(), Clock()
    keeper = LeaseKeeper(store, clock, owner="a", ttl=10)
    await keeper.claim("outbox:c1")
    store.before, store.after = asyncio.Event(), asyncio.Event()
    renewal = asyncio.create_task(keeper.renew())
    await asyncio.sleep(0)  # the renewal has asked about c1 and waits to reach the store

    await keeper.release("outbox:c1")
    store.before.set()
    await store.updated.wait()  # the UPDATE found no row for c1
    assert await keeper.claim("outbox:c1")
    store.after.set()
    await renewal

    assert keeper.holds("outbox:c1")
    assert store.rows["outbox:c1"][0] == "a"
    await keeper.aclose()
