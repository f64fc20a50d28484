"""The orchestrator with real in-process fakes for the bot and the desk, on an in-memory store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from livehandoff.bridge import Bridge, BridgeOptions
from livehandoff.config import DEFAULT_HANDOFF_NAMES
from livehandoff.domain import feed
from livehandoff.domain.handoff import HandoffPolicy
from livehandoff.domain.model import (
    AgentJoined,
    AgentMessage,
    BotReply,
    BotTurn,
    ChatEnded,
    CustomerProfile,
    HandoffRequest,
    OpenedChat,
    OutboxItem,
    QueueInfo,
    State,
    ThreadItem,
)
from livehandoff.errors import (
    BotUnavailable,
    ChatInactive,
    DeskError,
    DeskRateLimited,
    DeskUnavailable,
    GroupsOffline,
    InvalidToken,
)
from livehandoff.feed import InMemoryFeed
from livehandoff.storage import SqlStore, open_store

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
TIMEOUT_AFTER_APPLY = DeskUnavailable("applied, then timed out", error_type="request_timeout")
BridgeFactory = Callable[..., Bridge]


class SlowBot:
    """Answers after a pause and records how many turns ran at once."""

    def __init__(self, delay: float = 0.02) -> None:
        self.delay = delay
        self.running = 0
        self.most_at_once = 0
        self.texts: list[str] = []
        self.events: list[tuple[str, dict[str, Any], Mapping[str, Any] | None]] = []
        self.fail = False

    async def detect_intent(self, *, session_id: str, text: str, language: str) -> BotTurn:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.delay)
            if self.fail:
                raise BotUnavailable("down")
            self.texts.append(text)
            handoff = "agent" in text
            return BotTurn(replies=(BotReply(f"echo {text}"),), intent="human.handoff" if handoff else "echo")
        finally:
            self.running -= 1

    async def send_event(
        self,
        *,
        session_id: str,
        name: str,
        parameters: Mapping[str, Any],
        language: str,
        memory: Mapping[str, Any] | None = None,
    ) -> BotTurn:
        self.events.append((name, dict(parameters), memory))
        return BotTurn(replies=(BotReply("Welcome back"),), intent="livehandoff.ended")


class Desk:
    """Records what the bridge asked of LiveChat."""

    def __init__(self) -> None:
        self.opened: list[HandoffRequest] = []
        self.sent: list[str] = []
        self.arrived: list[str] = []
        self.failures: list[Exception] = []
        self.refuse: Exception | None = None
        self.inactive = False
        self.thread: list[ThreadItem] = []
        self.thread_failures = 0
        self.closed: list[str] = []
        self.hang: asyncio.Event | None = None
        """While set to an unset event, a send waits for it (LiveChat hangs)."""

    async def open_chat(self, request: HandoffRequest) -> OpenedChat:
        if self.refuse is not None:
            raise self.refuse
        self.opened.append(request)
        return OpenedChat(
            customer_id="cust-1", chat_id="CHAT000001", thread_id="T1", resumed=bool(request.desk_chat_id)
        )

    async def send_message(
        self, *, customer_id: str, chat_id: str, text: str, message_id: str = "", maybe_sent: bool = False
    ) -> list[str]:
        if self.inactive:
            raise ChatInactive("closed", error_type="chat_inactive")
        if self.hang is not None:
            await self.hang.wait()
        if self.failures:
            failure = self.failures.pop(0)
            if failure is TIMEOUT_AFTER_APPLY:
                self.arrived.append(message_id)
                self.sent.append(text)
                raise DeskUnavailable("timed out", error_type="request_timeout")
            raise failure
        if maybe_sent and message_id in self.arrived:
            return [message_id]
        self.arrived.append(message_id)
        self.sent.append(text)
        return [f"T1_{len(self.sent)}"]

    async def thread_items(self, *, customer_id: str, chat_id: str) -> list[ThreadItem]:
        if self.thread_failures:
            self.thread_failures -= 1
            raise DeskUnavailable("down", error_type="service_unavailable")
        return list(self.thread)

    async def close_chat(self, *, customer_id: str, chat_id: str) -> None:
        self.closed.append(chat_id)

    async def queue(self, *, customer_id: str, chat_id: str) -> QueueInfo | None:
        return None

    async def agent_name(self, *, customer_id: str, chat_id: str, agent_id: str) -> str | None:
        return "Looked Up"


@pytest.fixture
async def store() -> AsyncIterator[SqlStore]:
    opened = await open_store("sqlite+aiosqlite:///:memory:")
    yield opened
    await opened.close()


@pytest.fixture
def bot() -> SlowBot:
    return SlowBot()


@pytest.fixture
def desk() -> Desk:
    return Desk()


@pytest.fixture
async def make_bridge(store: SqlStore, bot: SlowBot, desk: Desk) -> AsyncIterator[BridgeFactory]:
    """Bridges over the same store, bot and desk; a second one plays the process after a restart, or
    another instance. Each is closed (its workers stopped, its leases given back) before the store."""
    built: list[Bridge] = []

    def build(**overrides: Any) -> Bridge:
        arguments: dict[str, Any] = {
            "conversations": store,
            "outbox": store,
            "intake": store,
            "leases": store,
            "bot": bot,
            "desk": desk,
            "feed": InMemoryFeed(),
            "options": BridgeOptions(policy=HandoffPolicy(names=DEFAULT_HANDOFF_NAMES)),
        }
        arguments.update(overrides)
        built.append(Bridge(**arguments))
        return built[-1]

    yield build
    for bridge in built:
        await bridge.aclose()


@pytest.fixture
def bridge(make_bridge: BridgeFactory) -> Bridge:
    return make_bridge()


async def new(bridge: Bridge) -> str:
    conversation, _ = await bridge.start_conversation(
        language="en", customer=CustomerProfile(), page_url=None
    )
    return conversation.id


async def texts(bridge: Bridge, conversation_id: str) -> list[tuple[str, str]]:
    events = await bridge.events_after(conversation_id, 0)
    return [(e.payload.author, e.payload.text) for e in events if isinstance(e.payload, feed.Message)]


async def agent_texts(bridge: Bridge, conversation_id: str) -> list[str]:
    return [text for author, text in await texts(bridge, conversation_id) if author == "agent"]


def anna_says(event_id: str, text: str) -> AgentMessage:
    """The webhook for a message Anna wrote in the handed-off chat."""
    return AgentMessage(
        chat_id="CHAT000001", event_id=event_id, agent_id="anna@example.com", text=text, created_at=NOW
    )


def anna_in_thread(event_id: str, text: str) -> ThreadItem:
    """The same message as the chat's thread lists it."""
    return ThreadItem(event_id, "message", "anna@example.com", text, NOW, "Anna")


async def test_messages_of_one_conversation_never_interleave(bridge: Bridge, bot: SlowBot) -> None:
    conversation_id = await new(bridge)
    await asyncio.gather(*(bridge.post_customer_message(conversation_id, f"m{i}") for i in range(5)))
    await bridge.drain()
    assert bot.most_at_once == 1
    assert bot.texts == [f"m{i}" for i in range(5)], "routed in the order accepted"
    said = await texts(bridge, conversation_id)
    assert [text for author, text in said if author == "bot"] == [f"echo m{i}" for i in range(5)]


async def test_different_conversations_run_concurrently(bridge: Bridge, bot: SlowBot) -> None:
    ids = [await new(bridge) for _ in range(4)]
    await asyncio.gather(*(bridge.post_customer_message(i, "hi") for i in ids))
    await bridge.drain()
    assert bot.most_at_once > 1


async def test_the_message_is_stored_before_it_is_routed(bridge: Bridge, bot: SlowBot) -> None:
    conversation_id = await new(bridge)
    await bridge.post_customer_message(conversation_id, "hello")
    assert await texts(bridge, conversation_id) == [("customer", "hello")]
    await bridge.drain()
    assert await texts(bridge, conversation_id) == [("customer", "hello"), ("bot", "echo hello")]


async def test_tokens_open_only_their_conversation(bridge: Bridge) -> None:
    first, token = await bridge.start_conversation(language="en", customer=CustomerProfile(), page_url=None)
    second, _ = await bridge.start_conversation(language="en", customer=CustomerProfile(), page_url=None)
    assert (await bridge.authorize(first.id, token)).id == first.id
    with pytest.raises(InvalidToken):
        await bridge.authorize(second.id, token)
    assert len(token) >= 32


async def handed_off(bridge: Bridge) -> str:
    conversation_id = await new(bridge)
    await bridge.post_customer_message(conversation_id, "hi")
    await bridge.drain()
    await bridge.post_customer_message(conversation_id, "I want an agent")
    await bridge.drain()
    return conversation_id


async def test_handoff_sends_the_transcript_in_order(bridge: Bridge, desk: Desk, store: SqlStore) -> None:
    conversation_id = await handed_off(bridge)
    assert [(line.author.value, line.text) for line in desk.opened[0].transcript] == [
        ("customer", "hi"),
        ("bot", "echo hi"),
        ("customer", "I want an agent"),
        ("bot", "echo I want an agent"),
    ]
    conversation = await store.load(conversation_id)
    assert conversation.state is State.HANDOFF_REQUESTED
    assert conversation.chat is not None
    assert conversation.chat.chat_id == "CHAT000001"


async def test_duplicate_webhooks_are_processed_once(bridge: Bridge) -> None:
    conversation_id = await handed_off(bridge)
    message = anna_says("T1_9", "Hi!")
    assert await bridge.handle_desk_update(message) is True
    assert await bridge.handle_desk_update(message) is False
    assert await agent_texts(bridge, conversation_id) == ["Hi!"]
    events = await bridge.events_after(conversation_id, 0)
    messages = [e.payload for e in events if isinstance(e.payload, feed.Message)]
    assert [message.name for message in messages if message.author == "agent"] == ["Looked Up"]


async def test_the_customers_own_echo_is_not_relayed_back(bridge: Bridge) -> None:
    conversation_id = await handed_off(bridge)
    echo = AgentMessage(chat_id="CHAT000001", event_id="T1_1", agent_id="cust-1", text="hi", created_at=NOW)
    assert await bridge.handle_desk_update(echo) is False
    assert all(a != "agent" for a, _ in await texts(bridge, conversation_id))


async def test_webhooks_for_unknown_chats_are_ignored(bridge: Bridge) -> None:
    assert await bridge.handle_desk_update(ChatEnded(chat_id="NOPE000000", thread_id="T")) is False


async def test_agent_conversation_and_return_to_the_bot(
    bridge: Bridge, desk: Desk, bot: SlowBot, store: SqlStore
) -> None:
    conversation_id = await handed_off(bridge)
    await bridge.handle_desk_update(AgentJoined("CHAT000001", "T1", "anna@example.com", "Anna"))
    await bridge.post_customer_message(conversation_id, "my parcel")
    await bridge.drain()
    assert desk.sent == ["my parcel"]
    await bridge.handle_desk_update(ChatEnded("CHAT000001", "T1", closed_by="anna@example.com"))
    ((name, parameters, memory),) = bot.events
    assert (name, parameters["ended_by"], parameters["agent_name"], memory) == (
        "LIVEHANDOFF_ENDED",
        "agent",
        "Anna",
        None,
    )
    assert parameters["duration_seconds"] >= 0
    assert (await texts(bridge, conversation_id))[-1] == ("bot", "Welcome back")
    await bridge.post_customer_message(conversation_id, "thanks")
    await bridge.drain()
    assert bot.texts[-1] == "thanks"
    assert (await store.load(conversation_id)).state is State.ENDED


async def test_a_message_to_a_closed_chat_goes_to_the_bot(
    bridge: Bridge, desk: Desk, bot: SlowBot, store: SqlStore
) -> None:
    conversation_id = await handed_off(bridge)
    desk.inactive = True
    await bridge.post_customer_message(conversation_id, "are you there")
    await bridge.drain()
    assert bot.texts[-1] == "are you there"
    assert (await store.load(conversation_id)).state is State.ENDED


async def test_refused_handoff_tells_the_customer(bridge: Bridge, desk: Desk, store: SqlStore) -> None:
    desk.refuse = GroupsOffline("offline", error_type="groups_offline")
    conversation_id = await handed_off(bridge)
    conversation = await store.load(conversation_id)
    assert conversation.state is State.HANDOFF_FAILED
    events = await bridge.events_after(conversation_id, 0)
    codes = [
        e.payload.code for e in events if isinstance(e.payload, feed.Message) and e.payload.author == "system"
    ]
    assert codes[-1] == "handoff_offline"


async def test_bot_failure_is_told_in_words(bridge: Bridge, bot: SlowBot) -> None:
    bot.fail = True
    conversation_id = await new(bridge)
    await bridge.post_customer_message(conversation_id, "hello")
    await bridge.drain()
    said = await texts(bridge, conversation_id)
    assert said[-1][0] == "system"


async def test_long_messages_reach_the_bot_shortened_and_the_agent_whole(
    bridge: Bridge, bot: SlowBot, desk: Desk
) -> None:
    conversation_id = await new(bridge)
    await bridge.post_customer_message(conversation_id, "x" * 300)
    await bridge.drain()
    assert bot.texts[-1] == "x" * 256
    conversation_id = await handed_off(bridge)
    await bridge.post_customer_message(conversation_id, "y" * 300)
    await bridge.drain()
    assert desk.sent[-1] == "y" * 300


async def test_an_agent_joining_before_start_chat_answers_is_not_lost(
    bridge: Bridge, desk: Desk, store: SqlStore
) -> None:
    """LiveChat assigns the agent, and sends the webhook, while start_chat is still answering."""
    early = AgentJoined("CHAT000001", "T1", "anna@example.com", "Anna")
    assert await bridge.handle_desk_update(early) is False  # parked: the chat is not known yet
    conversation_id = await handed_off(bridge)
    conversation = await store.load(conversation_id)
    assert conversation.state is State.AGENT
    assert conversation.agent is not None
    assert conversation.agent.name == "Anna"
    assert await bridge.handle_desk_update(early) is False, "applied once"
    events = await bridge.events_after(conversation_id, 0)
    assert [e.kind for e in events].count("agent_joined") == 1


@pytest.fixture
def fast_bridge(make_bridge: BridgeFactory) -> Bridge:
    """A bridge that retries at once."""
    return make_bridge(retry_delay=no_wait)


def no_wait(attempts: int, retry_after: float | None) -> float:
    """Retries come due at once: the tests check what is retried, not how long it waits."""
    return 0.0


async def types(bridge: Bridge, conversation_id: str) -> list[str]:
    return [e.kind for e in await bridge.events_after(conversation_id, 0)]


async def test_an_outage_queues_the_message_tells_the_customer_and_delivers_it_later(
    fast_bridge: Bridge, desk: Desk, store: SqlStore
) -> None:
    conversation_id = await handed_off(fast_bridge)
    desk.failures = [DeskUnavailable("down", error_type="service_unavailable")] * 3
    await fast_bridge.post_customer_message(conversation_id, "are you there?")
    await fast_bridge.drain()
    assert desk.sent == ["are you there?"]
    kinds = await types(fast_bridge, conversation_id)
    assert kinds.count("message_queued") == 1
    assert kinds.index("message_queued") < kinds.index("message_delivered")
    assert await store.next_item(conversation_id) is None


async def test_rate_limits_are_retried_in_order(fast_bridge: Bridge, desk: Desk) -> None:
    conversation_id = await handed_off(fast_bridge)
    desk.failures = [DeskRateLimited("slow down", retry_after=0.01)]
    for text in ("one", "two", "three"):
        await fast_bridge.post_customer_message(conversation_id, text)
    await fast_bridge.drain()
    assert desk.sent == ["one", "two", "three"]


async def test_a_send_that_arrived_before_timing_out_is_not_sent_twice(
    fast_bridge: Bridge, desk: Desk
) -> None:
    conversation_id = await handed_off(fast_bridge)
    desk.failures = [TIMEOUT_AFTER_APPLY]
    await fast_bridge.post_customer_message(conversation_id, "only once")
    await fast_bridge.drain()
    assert desk.sent == ["only once"]


async def test_a_refusal_is_told_and_not_retried(fast_bridge: Bridge, desk: Desk, store: SqlStore) -> None:
    conversation_id = await handed_off(fast_bridge)
    desk.failures = [DeskError("bad", error_type="validation")]
    await fast_bridge.post_customer_message(conversation_id, "refused")
    await fast_bridge.drain()
    assert desk.sent == []
    said = await texts(fast_bridge, conversation_id)
    assert said[-1][0] == "system"
    assert await store.next_item(conversation_id) is None


async def test_a_post_repeated_with_its_key_is_stored_once(bridge: Bridge, desk: Desk) -> None:
    conversation_id = await handed_off(bridge)

    first = await bridge.post_customer_message(conversation_id, "parcel?", idempotency_key="k1")
    again = await bridge.post_customer_message(conversation_id, "parcel?", idempotency_key="k1")
    other = await bridge.post_customer_message(conversation_id, "parcel?", idempotency_key="k2")
    await bridge.drain()

    assert (first.replayed, again.replayed, other.replayed) == (False, True, False)
    assert again.id == first.id != other.id
    assert desk.sent == ["parcel?", "parcel?"]


async def test_a_post_another_instance_stored_a_moment_ago_is_a_replay(make_bridge: BridgeFactory) -> None:
    first = make_bridge()
    conversation_id = await new(first)
    stored = await first.post_customer_message(conversation_id, "hello", idempotency_key="k1")
    await first.drain()
    late = make_bridge()  # its own locks: only the store knows the post

    repeated = await late.post_customer_message(conversation_id, "hello", idempotency_key="k1")

    assert repeated.id == stored.id
    assert repeated.replayed
    assert [t for a, t in await texts(first, conversation_id) if a == "customer"] == ["hello"]


async def test_a_restart_resumes_what_was_accepted(
    make_bridge: BridgeFactory, store: SqlStore, desk: Desk
) -> None:
    first = make_bridge(retry_delay=no_wait)
    conversation_id = await handed_off(first)
    desk.failures = [DeskUnavailable("down", error_type="service_unavailable")] * 1000
    await first.post_customer_message(conversation_id, "survives")
    await asyncio.sleep(0.05)
    await first.aclose()  # the process goes away with the message still queued
    assert desk.sent == []
    assert await store.next_item(conversation_id) is not None

    desk.failures = []
    second = make_bridge(retry_delay=no_wait)
    await second.start()
    await second.drain()
    await second.aclose()
    assert desk.sent == ["survives"]
    assert await store.next_item(conversation_id) is None


async def test_agent_messages_that_overtook_others_are_shown_in_thread_order(
    bridge: Bridge, desk: Desk
) -> None:
    """LiveChat's webhook for T1_3 arrives before the one for T1_2: the customer still sees T1_2 first."""
    conversation_id = await handed_off(bridge)  # the chat opened with no known events: cursor unset
    await bridge.handle_desk_update(anna_says("T1_1", "one"))
    desk.thread = [
        anna_in_thread("T1_1", "one"),
        anna_in_thread("T1_2", "two"),
        ThreadItem("T1_3", "system_message"),
        anna_in_thread("T1_4", "four"),
    ]
    late = anna_says("T1_2", "two")
    early = anna_says("T1_4", "four")
    assert await bridge.handle_desk_update(early) is True
    assert await bridge.handle_desk_update(late) is False, "already shown, in its place"
    assert await agent_texts(bridge, conversation_id) == ["one", "two", "four"]


async def test_a_send_cut_off_by_a_crash_is_not_sent_twice(
    make_bridge: BridgeFactory, store: SqlStore, desk: Desk
) -> None:
    """The process died after LiveChat took the message but before the outbox row was deleted."""
    first = make_bridge(retry_delay=no_wait)
    conversation_id = await handed_off(first)
    await first.aclose()
    conversation = await store.load(conversation_id)
    accepted = datetime.now(UTC)
    item = OutboxItem("msg_cut", conversation_id, "cut off", accepted, accepted)
    await store.save(conversation, [], expected_version=conversation.version, enqueue=[item])
    pending = await store.next_item(conversation_id)
    assert pending is not None
    assert pending.id is not None
    await store.mark_started(pending.id)  # the attempt had begun ...
    desk.arrived.append("msg_cut")  # ... and LiveChat had the message

    second = make_bridge(retry_delay=no_wait)
    await second.start()
    await second.drain()
    await second.aclose()
    assert desk.sent == [], "recognised by its custom_id, not sent again"
    assert await store.next_item(conversation_id) is None


async def test_an_overtaking_message_waits_for_redelivery_when_the_thread_cannot_be_read(
    bridge: Bridge, desk: Desk
) -> None:
    conversation_id = await handed_off(bridge)
    await bridge.handle_desk_update(anna_says("T1_1", "one"))
    desk.thread = [anna_in_thread("T1_2", "two"), anna_in_thread("T1_3", "three")]
    overtaking = anna_says("T1_3", "three")
    desk.thread_failures = 3
    with pytest.raises(DeskUnavailable):
        await bridge.handle_desk_update(overtaking)
    assert await agent_texts(bridge, conversation_id) == ["one"], "nothing recorded"
    assert await bridge.handle_desk_update(overtaking) is True  # LiveChat's redelivery
    assert await agent_texts(bridge, conversation_id) == ["one", "two", "three"]


async def test_every_log_line_of_a_step_names_its_conversation_once_bound(bridge: Bridge) -> None:
    """The bridge binds the id to the log context; the effects' lines carry it without passing it."""
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        conversation_id = await handed_off(bridge)
        await bridge.handle_desk_update(ChatEnded("CHAT000001", "T1", closed_by="anna@example.com"))

    events = {line["event"] for line in logs}
    assert {"conversation.started", "conversation.state_changed", "handoff.opened"} <= events
    assert all(line.get("conversation_id") == conversation_id for line in logs), logs
    assert "conversation_id" not in structlog.contextvars.get_contextvars()


# --- several instances on one database -----------------------------------------------------------


async def test_two_instances_route_one_conversation_once_and_in_order(
    make_bridge: BridgeFactory, desk: Desk
) -> None:
    """Posts alternate between two instances on one database; one of them routes at a time."""
    first, second = make_bridge(), make_bridge()
    conversation_id = await handed_off(first)
    sent = [f"m{n}" for n in range(30)]

    for n, text in enumerate(sent):
        await (first if n % 2 else second).post_customer_message(conversation_id, text)
    for _ in range(100):
        await asyncio.gather(first.drain(), second.drain())
        if len(desk.sent) >= len(sent):
            break
        await asyncio.sleep(0.02)

    assert desk.sent == sent


async def test_a_post_is_answered_at_once_while_livechat_hangs(bridge: Bridge, desk: Desk) -> None:
    conversation_id = await handed_off(bridge)
    desk.hang = asyncio.Event()
    await bridge.post_customer_message(conversation_id, "first")
    await asyncio.sleep(0.05)  # its worker is now inside the hanging send

    async with asyncio.timeout(2):  # it used to wait for the hanging call (15 s with LiveChat's timeout)
        for n in range(5):
            await bridge.post_customer_message(conversation_id, f"next {n}")
            await bridge.mark_delivered(conversation_id, 1)
    assert desk.sent == []

    desk.hang.set()
    await bridge.drain()
    assert desk.sent == ["first", *(f"next {n}" for n in range(5))]


async def test_the_work_of_an_instance_that_died_is_taken_over_when_its_lease_lapses(
    make_bridge: BridgeFactory, store: SqlStore, desk: Desk
) -> None:
    bridge = make_bridge()
    conversation_id = await handed_off(bridge)
    now = datetime.now(UTC)
    assert await store.claim(f"outbox:{conversation_id}", "dead", now=now, until=now + timedelta(seconds=0.3))

    await bridge.post_customer_message(conversation_id, "held by the dead one")
    await bridge.drain()
    assert desk.sent == []  # the lease is not ours yet

    await asyncio.sleep(0.35)
    await bridge.post_customer_message(conversation_id, "after it lapsed")
    await bridge.drain()
    assert desk.sent == ["held by the dead one", "after it lapsed"]


async def test_a_stopping_instance_gives_its_leases_back(
    make_bridge: BridgeFactory, store: SqlStore, desk: Desk
) -> None:
    first = make_bridge(retry_delay=no_wait)
    conversation_id = await handed_off(first)
    desk.failures = [DeskUnavailable("down", error_type="service_unavailable")] * 1000
    await first.post_customer_message(conversation_id, "queued")
    await asyncio.sleep(0.05)
    assert await store.holder(f"outbox:{conversation_id}", now=datetime.now(UTC)) is not None

    await first.aclose()

    assert await store.holder(f"outbox:{conversation_id}", now=datetime.now(UTC)) is None


async def test_every_message_held_during_an_outage_is_shown_waiting_then_delivered(
    make_bridge: BridgeFactory, desk: Desk
) -> None:
    """Not only the message LiveChat refused waits: so does each one behind it, sent before or during."""
    slow = make_bridge(retry_delay=lambda attempts, retry_after: 0.05)
    conversation_id = await handed_off(slow)
    desk.failures = [DeskUnavailable("down", error_type="service_unavailable")] * 4
    posted = [(await slow.post_customer_message(conversation_id, f"m{n}")).id for n in range(2)]
    await asyncio.sleep(0.08)  # the first has been refused at least once: the queue is held
    posted.append((await slow.post_customer_message(conversation_id, "m2")).id)
    for _ in range(100):
        await slow.drain()
        if len(desk.sent) == 3:
            break
        await asyncio.sleep(0.02)

    events = await slow.events_after(conversation_id, 0)
    queued = [e.payload.message_id for e in events if isinstance(e.payload, feed.MessageQueued)]
    delivered = [e.payload.message_id for e in events if isinstance(e.payload, feed.MessageDelivered)]
    assert desk.sent == ["m0", "m1", "m2"]
    assert sorted(queued) == sorted(posted), "each held message is shown waiting, once"
    assert delivered == posted, "and delivered, in order"
