"""What every ``Leases`` must do: one holder at a time, until it expires or gives the lease back. Run on each
backend through the ``store`` fixture."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from livehandoff.storage import SqlStore

T0 = datetime(2026, 12, 5, 12, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_a_free_lease_is_claimed_and_then_refused_to_others(store: SqlStore) -> None:
    assert await store.claim("outbox:c1", "a", now=at(0), until=at(10))
    assert not await store.claim("outbox:c1", "b", now=at(5), until=at(15))
    assert await store.holder("outbox:c1", now=at(5)) == "a"


async def test_the_holder_claims_again_to_extend(store: SqlStore) -> None:
    assert await store.claim("outbox:c1", "a", now=at(0), until=at(10))
    assert await store.claim("outbox:c1", "a", now=at(8), until=at(18))
    assert not await store.claim("outbox:c1", "b", now=at(12), until=at(22))


async def test_an_expired_lease_goes_to_the_next_claimant(store: SqlStore) -> None:
    assert await store.claim("outbox:c1", "a", now=at(0), until=at(10))
    assert await store.holder("outbox:c1", now=at(10)) is None
    assert await store.claim("outbox:c1", "b", now=at(10), until=at(20))
    assert await store.holder("outbox:c1", now=at(11)) == "b"
    assert await store.renew("a", ["outbox:c1"], until=at(30)) == set(), "a lost it"


async def test_renew_extends_only_what_the_owner_holds(store: SqlStore) -> None:
    await store.claim("outbox:c1", "a", now=at(0), until=at(10))
    await store.claim("waiting:c1", "a", now=at(0), until=at(10))
    await store.claim("outbox:c2", "b", now=at(0), until=at(10))

    kept = await store.renew("a", ["outbox:c1", "waiting:c1", "outbox:c2", "outbox:c9"], until=at(40))

    assert kept == {"outbox:c1", "waiting:c1"}
    assert await store.holder("outbox:c1", now=at(30)) == "a"
    assert await store.holder("outbox:c2", now=at(30)) is None
    assert await store.renew("a", [], until=at(50)) == set()


async def test_a_released_lease_is_free_at_once_and_only_the_owner_releases(store: SqlStore) -> None:
    await store.claim("outbox:c1", "a", now=at(0), until=at(10))
    await store.release("b", ["outbox:c1"])
    assert await store.holder("outbox:c1", now=at(1)) == "a"

    await store.release("a", ["outbox:c1"])
    await store.release("a", [])

    assert await store.holder("outbox:c1", now=at(1)) is None
    assert await store.claim("outbox:c1", "b", now=at(1), until=at(11))


async def test_racing_claimants_get_one_winner(store: SqlStore) -> None:
    for round_ in range(3):
        key = f"outbox:race{round_}"
        won = await asyncio.gather(
            *(store.claim(key, f"instance-{n}", now=at(0), until=at(10)) for n in range(6))
        )
        assert won.count(True) == 1, won
