"""What every ``Outbox`` must do: customer messages kept from their save until they are routed. Run on each
backend through the ``store`` fixture."""

from __future__ import annotations

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
