"""What every ``WebhookIntake`` must do: dedupe keys of applied desk updates, and updates parked until their
chat is known. Run on each backend through the ``store`` fixture."""

from __future__ import annotations

import pytest

from livehandoff.domain.model import State
from livehandoff.errors import DuplicateEvent
from livehandoff.storage import SqlStore

from .factories import bare, chat, message, texts

# --- dedupe keys -----------------------------------------------------------------------------------


async def test_seen_after_a_save_with_the_key(store: SqlStore) -> None:
    await store.create(bare())
    assert not await store.seen("event:CHAT1:e1")

    await store.save(bare(), [message("x")], expected_version=0, dedupe_key="event:CHAT1:e1")

    assert await store.seen("event:CHAT1:e1")
    assert not await store.seen("event:CHAT1:e2")


async def test_a_recorded_key_rolls_back_the_whole_save(store: SqlStore) -> None:
    await store.create(bare())
    await store.save(bare(), [message("first")], expected_version=0, dedupe_key="joined:CHAT1:T1:a1")
    retry = bare(state=State.AGENT, chat=chat("CHAT2", agent="a1"))

    with pytest.raises(DuplicateEvent) as raised:
        await store.save(retry, [message("again")], expected_version=1, dedupe_key="joined:CHAT1:T1:a1")

    assert raised.value.conversation_id == "conv-1"
    loaded = await store.load("conv-1")
    assert (loaded.state, loaded.agent, loaded.version, loaded.last_seq) == (State.BOT, None, 1, 1)
    assert texts(await store.events_after("conv-1", 0)) == ["first"]
    assert await store.find_by_desk_chat("CHAT2") is None


async def test_dedupe_keys_are_shared_by_all_conversations(store: SqlStore) -> None:
    await store.create(bare("a"))
    await store.create(bare("b"))
    await store.save(bare("a"), [], expected_version=0, dedupe_key="ended:CHAT1:T1")

    with pytest.raises(DuplicateEvent) as raised:
        await store.save(bare("b"), [], expected_version=0, dedupe_key="ended:CHAT1:T1")

    assert raised.value.conversation_id == "b"
    assert (await store.load("b")).version == 0


# --- parked desk updates ----------------------------------------------------------------------------


async def test_parked_events_come_back_once_in_arrival_order(store: SqlStore) -> None:
    await store.park("CHAT000001", "joined:1", {"kind": "agent_joined", "n": 1})
    await store.park("CHAT000002", "other:1", {"kind": "chat_ended"})
    await store.park("CHAT000001", "event:2", {"kind": "agent_message", "n": 2})
    await store.park("CHAT000001", "joined:1", {"kind": "agent_joined", "n": 99})
    assert await store.unpark("CHAT000001") == [
        {"kind": "agent_joined", "n": 1},
        {"kind": "agent_message", "n": 2},
    ]
    assert await store.unpark("CHAT000001") == []
    assert await store.unpark("CHAT000002") == [{"kind": "chat_ended"}]


async def test_unpark_of_an_unknown_chat_is_empty(store: SqlStore) -> None:
    assert await store.unpark("NOPE") == []
