"""What every ``Outbox`` must do: customer messages kept from their save until they are routed. Run on each
backend through the ``store`` fixture."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from livehandoff.domain.model import OutboxItem
from livehandoff.errors import ConcurrentUpdate
from livehandoff.storage import SqlStore

from .factories import CREATED, bare, message


async def test_outbox_items_are_saved_with_the_message_and_come_back_in_order(store: SqlStore) -> None:
    conversation = bare("conv-o")
    await store.create(conversation)
    first = OutboxItem("m1", "conv-o", "first", CREATED, CREATED)
    second = OutboxItem("m2", "conv-o", "second", CREATED, CREATED)
    await store.save(conversation, [message("first")], expected_version=0, enqueue=[first])
    await store.save(conversation, [message("second")], expected_version=1, enqueue=[second])
    assert await store.pending_conversations() == ["conv-o"]
    item = await store.next_item("conv-o")
    assert item is not None
    assert (item.message_id, item.text, item.attempts) == ("m1", "first", 0)
    later = CREATED + timedelta(seconds=30)
    assert item.id is not None
    await store.reschedule(item.id, attempts=1, next_attempt_at=later, error="DeskUnavailable")
    again = await store.next_item("conv-o")
    assert again is not None
    assert (again.message_id, again.attempts, again.next_attempt_at) == ("m1", 1, later)
    await store.finish(item.id)
    remaining = await store.next_item("conv-o")
    assert remaining is not None
    assert remaining.message_id == "m2"
    assert remaining.id is not None
    await store.finish(remaining.id)
    assert await store.next_item("conv-o") is None
    assert await store.pending_conversations() == []


async def test_an_outbox_item_is_written_only_with_its_save(store: SqlStore) -> None:
    conversation = bare("conv-p")
    await store.create(conversation)
    item = OutboxItem("m9", "conv-p", "lost?", CREATED, CREATED)
    with pytest.raises(ConcurrentUpdate):
        await store.save(conversation, [message("lost?")], expected_version=5, enqueue=[item])
    assert await store.next_item("conv-p") is None


async def test_held_messages_are_marked_once_while_the_head_has_failed(store: SqlStore) -> None:
    conversation = bare("conv-h")
    await store.create(conversation)
    items = [OutboxItem(f"m{n}", "conv-h", f"text {n}", CREATED, CREATED) for n in range(3)]
    await store.save(conversation, [message("queued")], expected_version=0, enqueue=items)
    other = bare("conv-x")
    await store.create(other)
    await store.save(
        other, [message("x")], expected_version=0, enqueue=[OutboxItem("x1", "conv-x", "x", CREATED, CREATED)]
    )

    assert await store.hold_waiting("conv-h") == [], "the head has not failed yet"
    head = await store.next_item("conv-h")
    assert head is not None
    assert head.id is not None
    await store.reschedule(head.id, attempts=1, next_attempt_at=CREATED, error="DeskUnavailable")

    racing = await asyncio.gather(*(store.hold_waiting("conv-h") for _ in range(4)))

    assert sorted(message_id for ids in racing for message_id in ids) == ["m0", "m1", "m2"], "each once"
    assert [ids for ids in racing if ids] == [["m0", "m1", "m2"]], "in queue order, to one caller"
    assert await store.hold_waiting("conv-h") == []
    held_head = await store.next_item("conv-h")
    assert held_head is not None
    assert held_head.held
    assert await store.hold_waiting("conv-x") == [], "another conversation's queue is not touched"
    other_head = await store.next_item("conv-x")
    assert other_head is not None
    assert not other_head.held
