"""The state machine, one row per edge of the transition table."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from livehandoff.domain import feed
from livehandoff.domain.feed import payload_data
from livehandoff.domain.handoff import HandoffPolicy, HandoffSignal
from livehandoff.domain.machine import (
    TRANSITIONS,
    AskBot,
    BotAnswered,
    BotFailed,
    CancelRequested,
    CloseDeskChat,
    CustomerMessageDue,
    CustomerSaid,
    DeskDelivered,
    DeskDeliveryDeferred,
    DeskDeliveryFailed,
    DeskOpened,
    DeskRefused,
    DeskSent,
    NotifyBot,
    OpenDeskChat,
    SendToDesk,
    ThreadSeen,
    WaitCheck,
    decide,
)
from livehandoff.domain.model import (
    Agent,
    AgentJoined,
    AgentMessage,
    BotReply,
    BotTurn,
    ChatEnded,
    Conversation,
    DeskChat,
    Handoff,
    OpenedChat,
    QueueInfo,
    State,
    desk_update_from_json,
    desk_update_to_json,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CHAT = "PJ0MRSHTDG"
CUSTOMER = "b7eff798-f8df-4364-8059-649c35c9ed0c"


def conversation(state: State, **changes: Any) -> Conversation:
    base = Conversation(
        id="c1",
        token_hash="h",
        state=state,
        language="en",
        bot_session_id="c1",
        created_at=NOW,
    )
    if state in (State.HANDOFF_REQUESTED, State.AGENT):
        base = replace(base, chat=DeskChat(CUSTOMER, CHAT))
    if state is State.AGENT:
        base = replace(base, chat=DeskChat(CUSTOMER, CHAT, agent=Agent("anna@example.com", "Anna")))
    return replace(base, **changes)


def data(payload: feed.Payload) -> dict[str, Any]:
    """A feed event's fields as the customer API shows them."""
    return payload_data(payload)


def cursor_json(conversation: Conversation) -> dict[str, Any] | None:
    """The conversation's thread cursor, in the form the store keeps it."""
    cursor = conversation.chat.cursor if conversation.chat else None
    if cursor is None:
        return None
    return {"thread_id": cursor.thread_id, "upto": cursor.upto, "beyond": sorted(cursor.beyond)}


TURN = BotTurn(replies=(BotReply("Hello!", ("Shipping",)),), intent="Default Welcome Intent")
HANDOFF_TURN = BotTurn(
    replies=(BotReply("Let me connect you."),), intent="human.handoff", live_agent_handoff=True
)
SAID = CustomerSaid("m1", "hi")
DUE = CustomerMessageDue("m1", "hi")
OPENED = DeskOpened(OpenedChat(customer_id=CUSTOMER, chat_id=CHAT, thread_id="T1"))
JOINED = AgentJoined(chat_id=CHAT, thread_id="T1", agent_id="anna@example.com", agent_name="Anna")
AGENT_SAID = AgentMessage(
    chat_id=CHAT, event_id="T1_3", agent_id="anna@example.com", text="Hi!", created_at=NOW
)
ENDED_BY_AGENT = ChatEnded(chat_id=CHAT, thread_id="T1", closed_by="anna@example.com")

# (state, event, next state, feed event types, command types)
ROWS: list[tuple[State, object, State, list[str], list[type]]] = [
    *[(s, SAID, s, ["message"], []) for s in State],
    *[(s, DeskDeliveryDeferred("m1"), s, ["message_queued"], []) for s in State],
    *[(s, DeskDelivered("m1"), s, ["message_delivered"], []) for s in State],
    *[(s, DeskSent(("T1_4",)), s, [], []) for s in State],
    *[(s, ThreadSeen(("T1_2",)), s, [], []) for s in State],
    *[(s, DUE, s, [], [AskBot]) for s in (State.BOT, State.ENDED, State.HANDOFF_FAILED)],
    *[(s, DUE, s, [], [SendToDesk]) for s in (State.HANDOFF_REQUESTED, State.AGENT)],
    *[(s, BotAnswered(TURN), s, ["message"], []) for s in (State.BOT, State.ENDED, State.HANDOFF_FAILED)],
    *[
        (
            s,
            BotAnswered(HANDOFF_TURN),
            State.HANDOFF_REQUESTED,
            ["message", "handoff_requested", "message"],
            [OpenDeskChat],
        )
        for s in (State.BOT, State.ENDED, State.HANDOFF_FAILED)
    ],
    *[
        (s, BotFailed("BotUnavailable"), s, ["message"], [])
        for s in (State.BOT, State.ENDED, State.HANDOFF_FAILED)
    ],
    (State.HANDOFF_REQUESTED, OPENED, State.HANDOFF_REQUESTED, ["waiting_for_agent"], []),
    *[(s, OPENED, s, [], [CloseDeskChat]) for s in set(State) - {State.HANDOFF_REQUESTED, State.AGENT}],
    (
        State.HANDOFF_REQUESTED,
        CancelRequested(),
        State.ENDED,
        ["handoff_cancelled", "message"],
        [CloseDeskChat],
    ),
    (State.AWAITING_EMAIL, CancelRequested(), State.ENDED, ["handoff_cancelled", "message"], []),
    (State.HANDOFF_REQUESTED, WaitCheck(QueueInfo(3, 120)), State.HANDOFF_REQUESTED, ["queue_position"], []),
    (
        State.AWAITING_EMAIL,
        CustomerMessageDue("m1", "jane@example.com"),
        State.HANDOFF_REQUESTED,
        ["handoff_requested", "message"],
        [OpenDeskChat],
    ),
    (
        State.AWAITING_EMAIL,
        CustomerMessageDue("m1", "never mind"),
        State.HANDOFF_FAILED,
        ["handoff_failed"],
        [AskBot],
    ),
    (
        State.HANDOFF_REQUESTED,
        DeskRefused("internal"),
        State.HANDOFF_FAILED,
        ["handoff_failed", "message"],
        [],
    ),
    (
        State.HANDOFF_REQUESTED,
        DeskRefused("offline", offline=True),
        State.HANDOFF_FAILED,
        ["handoff_failed", "message"],
        [],
    ),
    (State.HANDOFF_REQUESTED, JOINED, State.AGENT, ["agent_joined", "message"], []),
    (State.AGENT, JOINED, State.AGENT, ["agent_joined", "message"], []),
    (State.HANDOFF_REQUESTED, AGENT_SAID, State.AGENT, ["message"], []),
    (State.AGENT, AGENT_SAID, State.AGENT, ["message"], []),
    (State.HANDOFF_REQUESTED, ENDED_BY_AGENT, State.ENDED, ["handoff_ended", "message"], [NotifyBot]),
    (State.AGENT, ENDED_BY_AGENT, State.ENDED, ["handoff_ended", "message"], [NotifyBot]),
    (State.AGENT, DeskDeliveryFailed("m1", "hi"), State.AGENT, ["message"], []),
    (State.HANDOFF_REQUESTED, DeskDeliveryFailed("m1", "hi"), State.HANDOFF_REQUESTED, ["message"], []),
    (
        State.AGENT,
        DeskDeliveryFailed("m1", "hi", chat_inactive=True),
        State.ENDED,
        ["handoff_ended", "message"],
        [NotifyBot, AskBot],
    ),
    (
        State.HANDOFF_REQUESTED,
        DeskDeliveryFailed("m1", "hi", chat_inactive=True),
        State.ENDED,
        ["handoff_ended", "message"],
        [NotifyBot, AskBot],
    ),
]


@pytest.mark.parametrize(("state", "event", "next_state", "feed", "commands"), ROWS)
def test_transition(
    state: State, event: Any, next_state: State, feed: list[str], commands: list[type]
) -> None:
    decision = decide(conversation(state), event, NOW)
    assert decision.ignored is None
    assert decision.conversation.state is next_state
    assert [e.kind for e in decision.events] == feed
    assert [type(c) for c in decision.commands] == commands


def test_every_table_entry_has_a_row() -> None:
    covered = {(state, type(event)) for state, event, *_ in ROWS}
    assert set(TRANSITIONS) == covered


IGNORED = [
    (State.BOT, AGENT_SAID),
    (State.BOT, JOINED),
    (State.BOT, ENDED_BY_AGENT),
    (State.BOT, WaitCheck()),
    (State.AGENT, BotAnswered(TURN)),
    (State.AGENT, DeskRefused("internal")),
    (State.AGENT, OPENED),
    (State.ENDED, AGENT_SAID),
    (State.HANDOFF_FAILED, ENDED_BY_AGENT),
]


@pytest.mark.parametrize(("state", "event"), IGNORED)
def test_events_without_a_transition_are_ignored_with_a_reason(state: State, event: Any) -> None:
    before = conversation(state)
    decision = decide(before, event, NOW)
    assert decision.conversation == before
    assert decision.events == ()
    assert decision.commands == ()
    assert decision.ignored is not None
    assert type(event).__name__ in decision.ignored
    assert state.value in decision.ignored


def test_a_chat_end_for_another_chat_is_ignored() -> None:
    decision = decide(conversation(State.AGENT), ChatEnded(chat_id="OTHER", thread_id="T"), NOW)
    assert decision.ignored is not None


def test_handoff_records_reason_and_time_and_keeps_the_bot_text() -> None:
    decision = decide(conversation(State.BOT), BotAnswered(HANDOFF_TURN), NOW)
    assert decision.conversation.handoff == Handoff("intent human.handoff asked for a live agent", NOW)
    first = decision.events[0]
    assert data(first) == {"author": "bot", "text": "Let me connect you."}
    (command,) = decision.commands
    assert isinstance(command, OpenDeskChat)
    assert command.signal.trigger == "live_agent_handoff"
    assert data(decision.events[1])["trigger"] == "live_agent_handoff"


def test_desk_opened_remembers_the_chat_and_the_customer_identity() -> None:
    start = replace(conversation(State.HANDOFF_REQUESTED), chat=None)
    decision = decide(start, OPENED, NOW)
    assert decision.conversation.chat is not None
    assert decision.conversation.chat.chat_id == CHAT
    assert decision.conversation.chat.customer_id == CUSTOMER


def test_agent_messages_carry_the_agent_name() -> None:
    decision = decide(conversation(State.AGENT), AGENT_SAID, NOW)
    assert data(decision.events[0]) == {"author": "agent", "text": "Hi!", "name": "Anna"}


def test_agent_joined_tells_the_customer_who_joined() -> None:
    decision = decide(conversation(State.HANDOFF_REQUESTED), JOINED, NOW)
    assert decision.conversation.agent == Agent("anna@example.com", "Anna")
    assert data(decision.events[0]) == {"state": "agent", "agent": {"name": "Anna"}}
    assert data(decision.events[1])["text"] == "Anna joined the chat."


@pytest.mark.parametrize(
    ("closed_by", "who"), [("anna@example.com", "agent"), (CUSTOMER, "customer"), (None, "system")]
)
def test_chat_end_says_who_ended_it(closed_by: str | None, who: str) -> None:
    decision = decide(conversation(State.AGENT), ChatEnded(CHAT, "T1", closed_by), NOW)
    assert data(decision.events[0]) == {"state": "ended", "closed_by": who}
    assert decision.conversation.agent is None
    assert decision.conversation.chat is not None
    assert decision.conversation.chat.chat_id == CHAT  # kept: a later handoff resumes this chat


def test_customer_messages_keep_their_id() -> None:
    decision = decide(conversation(State.BOT), SAID, NOW)
    assert data(decision.events[0]) == {"author": "customer", "text": "hi", "id": "m1"}


def test_quick_replies_travel_with_bot_messages() -> None:
    decision = decide(conversation(State.BOT), BotAnswered(TURN), NOW)
    assert data(decision.events[0]) == {"author": "bot", "text": "Hello!", "quick_replies": ["Shipping"]}


def test_system_messages_use_the_conversation_language() -> None:
    decision = decide(
        conversation(State.HANDOFF_REQUESTED, language="de"), DeskRefused("offline", offline=True), NOW
    )
    assert data(decision.events[1])["text"].startswith("Leider")


@pytest.mark.parametrize("event", [AGENT_SAID, JOINED, ENDED_BY_AGENT, ChatEnded(CHAT, "T1", None)])
def test_desk_updates_round_trip_through_json(event: Any) -> None:
    assert desk_update_from_json(json.loads(json.dumps(desk_update_to_json(event)))) == event


def test_the_return_event_carries_who_ended_and_how_long() -> None:
    started = replace(conversation(State.AGENT), handoff=Handoff("asked", NOW - timedelta(seconds=90)))
    decision = decide(started, ENDED_BY_AGENT, NOW)
    (command,) = decision.commands
    assert command == NotifyBot(
        "LIVEHANDOFF_ENDED", {"ended_by": "agent", "agent_name": "Anna", "duration_seconds": 90}, None
    )
    assert decision.conversation.handoff is not None
    assert decision.conversation.handoff.ended_at == NOW


def test_no_return_event_when_it_is_switched_off() -> None:
    decision = decide(conversation(State.AGENT), ENDED_BY_AGENT, NOW, HandoffPolicy(bot_return_event=""))
    assert decision.commands == ()


def test_fallback_streak_counts_and_hands_off_at_the_limit() -> None:
    policy = HandoffPolicy(after_fallbacks=2)
    fallback = BotAnswered(BotTurn(replies=(BotReply("Sorry?"),), is_fallback=True))
    first = decide(conversation(State.BOT), fallback, NOW, policy)
    assert first.conversation.fallback_streak == 1
    assert first.conversation.state is State.BOT
    second = decide(first.conversation, fallback, NOW, policy)
    assert second.conversation.state is State.HANDOFF_REQUESTED
    assert second.conversation.fallback_streak == 0
    reset = decide(first.conversation, BotAnswered(TURN), NOW, policy)
    assert reset.conversation.fallback_streak == 0


def test_a_failing_bot_hands_off_when_configured() -> None:
    decision = decide(
        conversation(State.BOT), BotFailed("BotUnavailable"), NOW, HandoffPolicy(on_bot_error="handoff")
    )
    assert decision.conversation.state is State.HANDOFF_REQUESTED
    assert [type(c) for c in decision.commands] == [OpenDeskChat]


def test_the_bot_answer_to_the_return_event_does_not_hand_off_again() -> None:
    decision = decide(conversation(State.ENDED), BotAnswered(HANDOFF_TURN, answering_return_event=True), NOW)
    assert decision.conversation.state is State.ENDED
    assert decision.commands == ()


def test_bot_memory_is_kept_from_the_latest_turn() -> None:
    remembering = BotTurn(replies=(BotReply("ok"),), memory={"contexts": [{"name": "order"}]})
    decision = decide(conversation(State.BOT), BotAnswered(remembering), NOW)
    assert decision.conversation.bot_memory == {"contexts": [{"name": "order"}]}
    kept = decide(decision.conversation, BotAnswered(TURN), NOW)
    assert kept.conversation.bot_memory == {"contexts": [{"name": "order"}]}


def test_a_customer_message_is_queued_with_its_record() -> None:
    decision = decide(conversation(State.AGENT), SAID, NOW)
    (item,) = decision.outbox
    assert (item.message_id, item.conversation_id, item.text, item.attempts) == ("m1", "c1", "hi", 0)
    assert item.next_attempt_at == NOW
    direct = decide(conversation(State.BOT), CustomerSaid("m2", "hi", route_later=False), NOW)
    assert direct.outbox == ()
    assert [e.kind for e in direct.events] == ["message"]


def test_a_retried_message_may_already_be_at_livechat() -> None:
    first = decide(conversation(State.AGENT), CustomerMessageDue("m1", "hi"), NOW)
    retry = decide(conversation(State.AGENT), CustomerMessageDue("m1", "hi", maybe_sent=True), NOW)
    assert first.commands == (SendToDesk("m1", "hi", maybe_sent=False),)
    assert retry.commands == (SendToDesk("m1", "hi", maybe_sent=True),)


SIGNAL = HandoffSignal("live_agent_handoff", "asked", 2)
OFFLINE = DeskRefused("offline", offline=True, signal=SIGNAL)


def test_offline_stays_with_the_bot_by_default() -> None:
    decision = decide(conversation(State.HANDOFF_REQUESTED), OFFLINE, NOW)
    assert decision.conversation.state is State.HANDOFF_FAILED
    assert data(decision.events[1])["code"] == "handoff_offline"


def test_offline_can_open_a_chat_that_waits_for_an_agent() -> None:
    decision = decide(
        conversation(State.HANDOFF_REQUESTED), OFFLINE, NOW, HandoffPolicy(when_offline="leave_message")
    )
    assert decision.conversation.state is State.HANDOFF_REQUESTED
    assert decision.commands == (OpenDeskChat(SIGNAL, continuous=True),)
    assert data(decision.events[0])["code"] == "leave_message"
    refused_again = DeskRefused("offline", offline=True, signal=SIGNAL, continuous=True)
    fallback = decide(
        conversation(State.HANDOFF_REQUESTED), refused_again, NOW, HandoffPolicy(when_offline="leave_message")
    )
    assert fallback.conversation.state is State.HANDOFF_FAILED


def test_offline_can_ask_for_an_email_first() -> None:
    policy = HandoffPolicy(when_offline="ask_email")
    asked = decide(conversation(State.HANDOFF_REQUESTED), OFFLINE, NOW, policy)
    assert asked.conversation.state is State.AWAITING_EMAIL
    assert data(asked.events[1])["code"] == "ask_email"
    left = decide(asked.conversation, CustomerMessageDue("m2", " jane@example.com "), NOW, policy)
    assert left.conversation.customer.email == "jane@example.com"
    (command,) = left.commands
    assert isinstance(command, OpenDeskChat)
    assert command.continuous is True
    assert command.signal.trigger == "left_email"


def test_waiting_customers_can_cancel_by_saying_so() -> None:
    decision = decide(conversation(State.HANDOFF_REQUESTED), CustomerMessageDue("m1", "Cancel"), NOW)
    assert decision.conversation.state is State.ENDED
    assert decision.commands == (CloseDeskChat(),)
    with_agent = decide(conversation(State.AGENT), CustomerMessageDue("m1", "cancel"), NOW)
    assert with_agent.commands == (SendToDesk("m1", "cancel"),), "with an agent, it is just a message"
    german = decide(
        conversation(State.HANDOFF_REQUESTED, language="de"), CustomerMessageDue("m1", "abbrechen"), NOW
    )
    assert german.conversation.state is State.ENDED


def test_the_maximum_wait_sends_the_customer_back_to_the_bot() -> None:
    policy = HandoffPolicy(max_wait_seconds=60)
    waiting = conversation(State.HANDOFF_REQUESTED, handoff=Handoff("asked", NOW - timedelta(seconds=61)))
    decision = decide(waiting, WaitCheck(None), NOW, policy)
    assert decision.conversation.state is State.HANDOFF_FAILED
    assert data(decision.events[0]) == {"state": "handoff_failed", "reason": "no_agent_in_time"}
    assert decision.commands == (CloseDeskChat(),)
    patient = replace(waiting, chat=DeskChat(CUSTOMER, CHAT, continuous=True))
    assert decide(patient, WaitCheck(None), NOW, policy).conversation.state is State.HANDOFF_REQUESTED


def test_queue_positions_are_shown_when_they_change() -> None:
    waiting = conversation(State.HANDOFF_REQUESTED)
    first = decide(waiting, WaitCheck(QueueInfo(3, 90)), NOW)
    assert data(first.events[0]) == {"position": 3, "wait_seconds": 90}
    same = decide(first.conversation, WaitCheck(QueueInfo(3, 80)), NOW)
    assert same.events == ()


def test_the_thread_cursor_follows_what_was_opened_sent_and_shown() -> None:
    start = conversation(State.HANDOFF_REQUESTED)
    opened = decide(
        start, DeskOpened(OpenedChat(CUSTOMER, CHAT, "T1", event_ids=("T1_1",))), NOW
    ).conversation
    assert cursor_json(opened) == {"thread_id": "T1", "upto": 1, "beyond": []}
    seen = decide(opened, ThreadSeen(("T1_2",)), NOW).conversation
    sent = decide(seen, DeskSent(("T1_4",)), NOW).conversation
    assert cursor_json(sent) == {"thread_id": "T1", "upto": 2, "beyond": [4]}
    shown = decide(sent, replace(AGENT_SAID, event_id="T1_3"), NOW).conversation
    assert cursor_json(shown) == {"thread_id": "T1", "upto": 4, "beyond": []}


def test_a_chat_opened_after_the_customer_stopped_waiting_is_closed() -> None:
    """The customer cancelled while start_chat was still answering: nobody would ever answer that chat."""
    cancelled = decide(conversation(State.HANDOFF_REQUESTED, chat=None), CancelRequested(), NOW)
    assert cancelled.commands == ()  # no chat to close yet
    late = decide(cancelled.conversation, OPENED, NOW)
    assert late.commands == (CloseDeskChat(OPENED.chat),)
    assert late.conversation == cancelled.conversation
    assert late.events == ()


def test_a_resumed_chat_whose_agent_joined_before_resume_chat_answered_stays_open() -> None:
    """The webhook names the returning customer's known chat, so the agent joins before ``DeskOpened``."""
    resuming = conversation(State.HANDOFF_REQUESTED)
    joined = decide(resuming, JOINED, NOW).conversation
    late = decide(joined, OPENED, NOW)
    assert late.ignored is not None
    assert late.commands == ()
    assert late.conversation.state is State.AGENT
