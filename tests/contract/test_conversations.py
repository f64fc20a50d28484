"""What every ``ConversationStore`` must do (conversations and their feeds), on each backend through the
``store`` fixture. The other roles of the store have ``test_outbox.py`` and ``test_intake.py``."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from datetime import UTC, datetime

import pytest

from livehandoff.domain import feed
from livehandoff.domain.feed import FeedEvent, payload_data
from livehandoff.domain.model import Author, State
from livehandoff.errors import ConcurrentUpdate, ConversationNotFound
from livehandoff.storage import SqlStore

from .conftest import StepClock
from .factories import CREATED, bare, chat, full, message, texts

# --- create and load -------------------------------------------------------------------------------


async def test_create_then_load_returns_every_field(store: SqlStore) -> None:
    conversation = full()

    await store.create(conversation)
    loaded = await store.load(conversation.id)

    assert loaded == conversation
    assert loaded.created_at.tzinfo is UTC
    assert loaded.handoff is not None
    assert conversation.handoff is not None
    assert loaded.handoff.started_at.tzinfo is UTC
    assert loaded.handoff.started_at == conversation.handoff.started_at


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

    waiting = feed.WaitingForAgent(State.HANDOFF_REQUESTED)
    returned = await store.save(bare(), [message("one"), waiting], expected_version=0)

    assert returned == await store.events_after("conv-1", 0)
    assert returned[0] == FeedEvent(seq=1, payload=message("one"), created_at=clock.current)
    assert payload_data(returned[0].payload) == {"author": "customer", "text": "one"}
    assert all(event.created_at.tzinfo is UTC for event in returned)
    assert returned[1].created_at == clock.current


async def test_feed_events_round_trip_with_every_field(store: SqlStore) -> None:
    said = feed.Message(
        Author.BOT, 'Olá, 世界 👋 "quoted" \\ back\nslash', quick_replies=("a list", "of two")
    )
    queued = feed.QueuePosition(2**53, None)
    joined = feed.AgentJoined(State.AGENT, feed.AgentName("Zoë"))
    await store.create(bare())

    returned = await store.save(bare(), [said, queued, joined], expected_version=0)
    loaded = await store.events_after("conv-1", 0)

    assert [event.payload for event in returned] == [said, queued, joined]
    assert [event.payload for event in loaded] == [said, queued, joined]
    assert list(payload_data(loaded[0].payload)) == ["author", "text", "quick_replies"]
    assert payload_data(loaded[1].payload) == {"position": 2**53, "wait_seconds": None}


async def test_bot_memory_round_trips_as_json(store: SqlStore) -> None:
    data = {
        "text": 'Olá, 世界 👋 "quoted" \\ back\nslash',
        "nested": {"list": [1, 2.5, -3, True, False, None, {"deep": ["x", []]}], "empty": {}},
        "tuple": ("becomes", "a list"),
        "big": 2**53,
    }
    await store.create(bare())

    await store.save(bare(bot_memory=data), [], expected_version=0)
    loaded = (await store.load("conv-1")).bot_memory

    expected = {**data, "tuple": ["becomes", "a list"]}
    assert loaded == expected
    assert loaded is not None
    assert list(loaded) == list(data)


async def test_save_refuses_data_that_is_not_json_and_writes_nothing(store: SqlStore) -> None:
    await store.create(bare())

    bad = feed.QueuePosition(1, math.nan)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="JSON compliant"):
        await store.save(bare(state=State.AGENT), [bad], expected_version=0)

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
    assert texts(await store.events_after("conv-1", 0)) == ["first"]
    assert not await store.seen("k")


async def test_racing_saves_from_one_version_let_exactly_one_win(store: SqlStore) -> None:
    await store.create(bare())
    racers = 6

    for round_ in range(3):
        outcomes = await asyncio.gather(
            *(
                store.save(
                    bare(chat=chat("CHAT1", agent=f"racer {n}")),
                    [message(f"{round_}/{n}")],
                    expected_version=round_,
                )
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
    assert texts(await store.events_after("a", 0)) == ["a1", "a2"]


# --- events_after ----------------------------------------------------------------------------------


async def test_events_after_pages_through_the_feed(store: SqlStore) -> None:
    await store.create(bare())
    await store.save(bare(), [message(str(n)) for n in range(1, 8)], expected_version=0)

    pages = [await store.events_after("conv-1", after, limit=3) for after in (0, 3, 6, 7)]

    assert [[event.seq for event in page] for page in pages] == [[1, 2, 3], [4, 5, 6], [7], []]
    assert texts(pages[1]) == ["4", "5", "6"]


async def test_events_after_defaults_to_everything_in_order(store: SqlStore) -> None:
    await store.create(bare())
    for version in range(4):
        await store.save(bare(), [message(f"m{version}")], expected_version=version)

    assert [event.seq for event in await store.events_after("conv-1", 0)] == [1, 2, 3, 4]
    assert [event.seq for event in await store.events_after("conv-1", 2)] == [3, 4]


async def test_events_after_without_a_limit_returns_a_long_feed_whole(store: SqlStore) -> None:
    await store.create(bare())
    await store.save(bare(), [message(str(n)) for n in range(1, 601)], expected_version=0)

    events = await store.events_after("conv-1", 0)

    assert [event.seq for event in events] == list(range(1, 601))
    assert texts(events)[-1] == "600"


async def test_events_after_of_an_unknown_conversation_is_empty(store: SqlStore) -> None:
    assert await store.events_after("nobody", 0) == []


async def test_events_after_refuses_a_limit_below_one(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.events_after("conv-1", 0, limit=0)


# --- desk chats ------------------------------------------------------------------------------------


async def test_find_by_desk_chat_knows_current_and_earlier_chats(store: SqlStore) -> None:
    await store.create(bare(chat=chat("CHAT1")))
    assert await store.find_by_desk_chat("CHAT1") == "conv-1"

    await store.save(bare(chat=chat("CHAT2")), [], expected_version=0)
    await store.save(bare(chat=None, state=State.ENDED), [], expected_version=1)

    assert await store.find_by_desk_chat("CHAT1") == "conv-1"
    assert await store.find_by_desk_chat("CHAT2") == "conv-1"
    assert await store.find_by_desk_chat("CHAT3") is None


async def test_find_by_desk_chat_tells_conversations_apart(store: SqlStore) -> None:
    await store.create(bare("a"))
    await store.create(bare("b"))

    await store.save(bare("a", chat=chat("CHAT-A")), [], expected_version=0)
    await store.save(bare("b", chat=chat("CHAT-B")), [], expected_version=0)

    assert await store.find_by_desk_chat("CHAT-A") == "a"
    assert await store.find_by_desk_chat("CHAT-B") == "b"


# --- lifecycle -------------------------------------------------------------------------------------


async def test_close_twice_is_harmless(store: SqlStore) -> None:
    await store.close()
    await store.close()


async def test_find_by_bot_session(store: SqlStore) -> None:
    await store.create(bare("conv-a", bot_session_id="projects/p/agent/sessions/s1"))
    assert await store.find_by_bot_session("projects/p/agent/sessions/s1") == "conv-a"
    assert await store.find_by_bot_session("projects/p/agent/sessions/other") is None
