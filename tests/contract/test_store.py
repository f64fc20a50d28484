"""What every ``ConversationStore`` must do, run on each backend through the ``store`` fixture."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from datetime import UTC, datetime, timedelta

import pytest

from livehandoff.domain.model import FeedEvent, NewEvent, OutboxItem, State
from livehandoff.errors import ConcurrentUpdate, ConversationNotFound, DuplicateEvent
from livehandoff.storage import SqlStore

from .conftest import StepClock
from .factories import CREATED, bare, full, message

# --- create and load -------------------------------------------------------------------------------


async def test_create_then_load_returns_every_field(store: SqlStore) -> None:
    conversation = full()

    await store.create(conversation)
    loaded = await store.load(conversation.id)

    assert loaded == conversation
    assert loaded.created_at.tzinfo is UTC
    assert loaded.handoff_started_at is not None
    assert loaded.handoff_started_at.tzinfo is UTC
    assert loaded.handoff_started_at == conversation.handoff_started_at


async def test_create_then_load_keeps_unset_fields_unset(store: SqlStore) -> None:
    await store.create(bare())

    assert await store.load("conv-1") == bare()


async def test_create_starts_at_version_zero_whatever_it_is_given(store: SqlStore) -> None:
    await store.create(bare(version=7, last_seq=3))

    loaded = await store.load("conv-1")

    assert (loaded.version, loaded.last_seq) == (0, 0)
    assert await store.events_after("conv-1", 0) == []


async def test_create_refuses_an_existing_id(store: SqlStore) -> None:
    await store.create(bare(token_hash="first"))

    with pytest.raises(ConcurrentUpdate) as raised:
        await store.create(bare(token_hash="second"))

    assert raised.value.conversation_id == "conv-1"
    assert (await store.load("conv-1")).token_hash == "first"


async def test_create_refuses_a_naive_time(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.create(bare(created_at=datetime(2025, 1, 1)))

    with pytest.raises(ConversationNotFound):
        await store.load("conv-1")


async def test_load_of_an_unknown_id_raises_not_found(store: SqlStore) -> None:
    with pytest.raises(ConversationNotFound) as raised:
        await store.load("nobody")

    assert raised.value.conversation_id == "nobody"


# --- save ------------------------------------------------------------------------------------------


async def test_save_appends_consecutive_seqs_and_bumps_the_version(store: SqlStore) -> None:
    await store.create(bare())

    first = await store.save(bare(), [message("hi"), message("anyone?")], expected_version=0)
    second = await store.save(bare(), [message("hello?")], expected_version=1)
    third = await store.save(bare(), [], expected_version=2)

    assert [event.seq for event in first + second] == [1, 2, 3]
    assert third == []
    loaded = await store.load("conv-1")
    assert (loaded.version, loaded.last_seq) == (3, 3)


async def test_save_writes_the_conversation_and_ignores_its_version_fields(store: SqlStore) -> None:
    await store.create(bare())
    changed = dataclasses.replace(full(), version=41, last_seq=99)

    await store.save(changed, [message("agent please")], expected_version=0)
    loaded = await store.load("conv-1")

    assert loaded == dataclasses.replace(full(), version=1, last_seq=1)


async def test_save_keeps_the_created_time(store: SqlStore) -> None:
    await store.create(bare())

    await store.save(bare(created_at=datetime(2030, 1, 1, tzinfo=UTC)), [], expected_version=0)

    assert (await store.load("conv-1")).created_at == CREATED


async def test_save_returns_the_events_as_stored(store: SqlStore, clock: StepClock) -> None:
    await store.create(bare())

    returned = await store.save(bare(), [message("one"), NewEvent("typing", {})], expected_version=0)

    assert returned == await store.events_after("conv-1", 0)
    assert returned[0] == FeedEvent(
        seq=1, type="message", data={"author": "customer", "text": "one"}, created_at=clock.current
    )
    assert all(event.created_at.tzinfo is UTC for event in returned)
    assert returned[1].created_at == clock.current


async def test_event_data_round_trips_as_json(store: SqlStore) -> None:
    data = {
        "text": 'Olá, 世界 👋 "quoted" \\ back\nslash',
        "nested": {"list": [1, 2.5, -3, True, False, None, {"deep": ["x", []]}], "empty": {}},
        "tuple": ("becomes", "a list"),
        "big": 2**53,
    }
    await store.create(bare())

    returned = await store.save(bare(), [NewEvent("card", data)], expected_version=0)
    (loaded,) = await store.events_after("conv-1", 0)

    expected = {**data, "tuple": ["becomes", "a list"]}
    assert returned[0].data == expected
    assert loaded.data == expected
    assert list(loaded.data) == list(data)


async def test_save_refuses_data_that_is_not_json_and_writes_nothing(store: SqlStore) -> None:
    await store.create(bare())

    with pytest.raises(ValueError, match="JSON compliant"):
        await store.save(bare(state=State.AGENT), [NewEvent("bad", {"x": math.nan})], expected_version=0)

    assert (await store.load("conv-1")).version == 0


async def test_save_of_an_unknown_conversation_raises_not_found(store: SqlStore) -> None:
    with pytest.raises(ConversationNotFound) as raised:
        await store.save(bare("ghost"), [message("boo")], expected_version=0)

    assert raised.value.conversation_id == "ghost"
    assert await store.events_after("ghost", 0) == []


async def test_save_from_a_stale_version_raises_and_writes_nothing(store: SqlStore) -> None:
    await store.create(bare())
    await store.save(bare(), [message("first")], expected_version=0)

    with pytest.raises(ConcurrentUpdate) as raised:
        await store.save(bare(state=State.ENDED), [message("stale")], expected_version=0, dedupe_key="k")

    assert raised.value.conversation_id == "conv-1"
    loaded = await store.load("conv-1")
    assert (loaded.state, loaded.version, loaded.last_seq) == (State.BOT, 1, 1)
    assert [event.data["text"] for event in await store.events_after("conv-1", 0)] == ["first"]
    assert not await store.seen("k")


async def test_racing_saves_from_one_version_let_exactly_one_win(store: SqlStore) -> None:
    await store.create(bare())
    racers = 6

    for round_ in range(3):
        outcomes = await asyncio.gather(
            *(
                store.save(bare(agent_name=f"racer {n}"), [message(f"{round_}/{n}")], expected_version=round_)
                for n in range(racers)
            ),
            return_exceptions=True,
        )

        winners = [outcome for outcome in outcomes if isinstance(outcome, list)]
        losers = [outcome for outcome in outcomes if isinstance(outcome, ConcurrentUpdate)]
        assert (len(winners), len(losers)) == (1, racers - 1), outcomes
        assert winners[0][0].seq == round_ + 1

    loaded = await store.load("conv-1")
    assert (loaded.version, loaded.last_seq) == (3, 3)
    assert [event.seq for event in await store.events_after("conv-1", 0)] == [1, 2, 3]


async def test_seqs_are_counted_per_conversation(store: SqlStore) -> None:
    await store.create(bare("a"))
    await store.create(bare("b"))

    await store.save(bare("a"), [message("a1"), message("a2")], expected_version=0)
    from_b = await store.save(bare("b"), [message("b1")], expected_version=0)

    assert [event.seq for event in from_b] == [1]
    assert [event.data["text"] for event in await store.events_after("a", 0)] == ["a1", "a2"]


# --- events_after ----------------------------------------------------------------------------------


async def test_events_after_pages_through_the_feed(store: SqlStore) -> None:
    await store.create(bare())
    await store.save(bare(), [message(str(n)) for n in range(1, 8)], expected_version=0)

    pages = [await store.events_after("conv-1", after, limit=3) for after in (0, 3, 6, 7)]

    assert [[event.seq for event in page] for page in pages] == [[1, 2, 3], [4, 5, 6], [7], []]
    assert [event.data["text"] for event in pages[1]] == ["4", "5", "6"]


async def test_events_after_defaults_to_everything_in_order(store: SqlStore) -> None:
    await store.create(bare())
    for version in range(4):
        await store.save(bare(), [message(f"m{version}")], expected_version=version)

    assert [event.seq for event in await store.events_after("conv-1", 0)] == [1, 2, 3, 4]
    assert [event.seq for event in await store.events_after("conv-1", 2)] == [3, 4]


async def test_events_after_of_an_unknown_conversation_is_empty(store: SqlStore) -> None:
    assert await store.events_after("nobody", 0) == []


async def test_events_after_refuses_a_limit_below_one(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.events_after("conv-1", 0, limit=0)


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
    retry = bare(state=State.AGENT, agent_id="a1", desk_chat_id="CHAT2")

    with pytest.raises(DuplicateEvent) as raised:
        await store.save(retry, [message("again")], expected_version=1, dedupe_key="joined:CHAT1:T1:a1")

    assert raised.value.conversation_id == "conv-1"
    loaded = await store.load("conv-1")
    assert (loaded.state, loaded.agent_id, loaded.version, loaded.last_seq) == (State.BOT, None, 1, 1)
    assert [event.data["text"] for event in await store.events_after("conv-1", 0)] == ["first"]
    assert await store.find_by_desk_chat("CHAT2") is None


async def test_dedupe_keys_are_shared_by_all_conversations(store: SqlStore) -> None:
    await store.create(bare("a"))
    await store.create(bare("b"))
    await store.save(bare("a"), [], expected_version=0, dedupe_key="ended:CHAT1:T1")

    with pytest.raises(DuplicateEvent) as raised:
        await store.save(bare("b"), [], expected_version=0, dedupe_key="ended:CHAT1:T1")

    assert raised.value.conversation_id == "b"
    assert (await store.load("b")).version == 0


# --- desk chats ------------------------------------------------------------------------------------


async def test_find_by_desk_chat_knows_current_and_earlier_chats(store: SqlStore) -> None:
    await store.create(bare(desk_chat_id="CHAT1"))
    assert await store.find_by_desk_chat("CHAT1") == "conv-1"

    await store.save(bare(desk_chat_id="CHAT2"), [], expected_version=0)
    await store.save(bare(desk_chat_id=None, state=State.ENDED), [], expected_version=1)

    assert await store.find_by_desk_chat("CHAT1") == "conv-1"
    assert await store.find_by_desk_chat("CHAT2") == "conv-1"
    assert await store.find_by_desk_chat("CHAT3") is None


async def test_find_by_desk_chat_tells_conversations_apart(store: SqlStore) -> None:
    await store.create(bare("a"))
    await store.create(bare("b"))

    await store.save(bare("a", desk_chat_id="CHAT-A"), [], expected_version=0)
    await store.save(bare("b", desk_chat_id="CHAT-B"), [], expected_version=0)

    assert await store.find_by_desk_chat("CHAT-A") == "a"
    assert await store.find_by_desk_chat("CHAT-B") == "b"


# --- lifecycle -------------------------------------------------------------------------------------


async def test_close_twice_is_harmless(store: SqlStore) -> None:
    await store.close()
    await store.close()


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


async def test_find_by_bot_session(store: SqlStore) -> None:
    await store.create(bare("conv-a", bot_session_id="projects/p/agent/sessions/s1"))
    assert await store.find_by_bot_session("projects/p/agent/sessions/s1") == "conv-a"
    assert await store.find_by_bot_session("projects/p/agent/sessions/other") is None


async def test_outbox_items_are_saved_with_the_message_and_come_back_in_order(store: SqlStore) -> None:
    conversation = bare("conv-o")
    await store.create(conversation)
    first = OutboxItem("m1", "conv-o", "first", CREATED, CREATED)
    second = OutboxItem("m2", "conv-o", "second", CREATED, CREATED)
    await store.save(conversation, [message("first")], expected_version=0, enqueue=[first])
    await store.save(conversation, [message("second")], expected_version=1, enqueue=[second])
    assert await store.pending_outbox() == ["conv-o"]
    item = await store.next_outbox("conv-o")
    assert item is not None
    assert (item.message_id, item.text, item.attempts) == ("m1", "first", 0)
    later = CREATED + timedelta(seconds=30)
    assert item.id is not None
    await store.reschedule_outbox(item.id, attempts=1, next_attempt_at=later, error="DeskUnavailable")
    again = await store.next_outbox("conv-o")
    assert again is not None
    assert (again.message_id, again.attempts, again.next_attempt_at) == ("m1", 1, later)
    await store.finish_outbox(item.id)
    remaining = await store.next_outbox("conv-o")
    assert remaining is not None
    assert remaining.message_id == "m2"
    assert remaining.id is not None
    await store.finish_outbox(remaining.id)
    assert await store.next_outbox("conv-o") is None
    assert await store.pending_outbox() == []


async def test_an_outbox_item_is_written_only_with_its_save(store: SqlStore) -> None:
    conversation = bare("conv-p")
    await store.create(conversation)
    item = OutboxItem("m9", "conv-p", "lost?", CREATED, CREATED)
    with pytest.raises(ConcurrentUpdate):
        await store.save(conversation, [message("lost?")], expected_version=5, enqueue=[item])
    assert await store.next_outbox("conv-p") is None
