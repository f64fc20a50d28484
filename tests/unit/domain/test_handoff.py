"""Every handoff trigger, the loop guard, group routing, and what travels with a handoff."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from livehandoff.config import DEFAULT_HANDOFF_NAMES
from livehandoff.domain import feed
from livehandoff.domain.feed import FeedEvent
from livehandoff.domain.handoff import (
    HandoffPolicy,
    detect,
    memory_to_restore,
    on_bot_failure,
    return_parameters,
    transcript_since_last_handoff,
)
from livehandoff.domain.model import Agent, Author, BotReply, BotTurn, Conversation, DeskChat, Handoff, State

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
POLICY = HandoffPolicy(names=DEFAULT_HANDOFF_NAMES, group_names={"Billing": 2})
CONV = Conversation(
    id="c", token_hash="h", state=State.BOT, language="en", bot_session_id="c", created_at=NOW
)


def turn(**fields: Any) -> BotTurn:
    return BotTurn(replies=(BotReply("ok"),), **{"intent": "x", **fields})


@pytest.mark.parametrize(
    ("fields", "trigger", "group"),
    [
        ({"live_agent_handoff": True}, "live_agent_handoff", None),
        ({"live_agent_handoff": True, "handoff_metadata": {"group": "billing"}}, "live_agent_handoff", 2),
        ({"live_agent_handoff": True, "handoff_metadata": {"group_id": 7}}, "live_agent_handoff", 7),
        ({"payloads": ({"action": "handoff"},)}, "payload", None),
        ({"payloads": ({"action": "handoff", "team_id": 3},)}, "payload", 3),
        ({"payloads": ({"web": {"action": "HANDOFF"}},)}, "payload", None),
        ({"payloads": ({"livehandoff": {"action": "handoff", "group": "Billing"}},)}, "payload", 2),
        ({"payloads": ({"platform": "kommunicate", "metadata": {"KM_ASSIGN_TO": ""}},)}, "payload", None),
        ({"payloads": ({"metadata": {"KM_ASSIGN_TEAM": "5"}},)}, "payload", 5),
        ({"payloads": ({"action": {"name": "df_perform_handover", "params": {}}},)}, "payload", None),
        (
            {"payloads": ({"action": {"name": "df_perform_handover", "params": {"targetDepartment": "4"}}},)},
            "payload",
            4,
        ),
        ({"action": "support.live_agent"}, "intent_name", None),
        ({"intent": "human.handoff"}, "intent_name", None),
        ({"intent": "Human.Handoff"}, "intent_name", None),
    ],
)
def test_explicit_triggers(fields: dict[str, Any], trigger: str, group: int | None) -> None:
    signal = detect(turn(**fields), CONV, POLICY, NOW)
    assert signal is not None
    assert signal.trigger == trigger
    assert signal.group_id == group
    assert signal.context["handoff_trigger"] == trigger


@pytest.mark.parametrize(
    "fields",
    [
        {"intent": "Default Welcome Intent", "action": "input.welcome"},
        {"payloads": ({"action": "resolve"},)},
        {"payloads": ({"web": {"deep": {"action": "handoff"}}},)},
        {"payloads": ({"action": ["handoff"]},)},
        {"payloads": ({"action": {"name": "df_close_chat"}},)},
        {"payloads": ({"metadata": {"KM_OTHER": 1}},)},
        {"end_interaction": True},
        {"is_fallback": True},
    ],
)
def test_not_handoff(fields: dict[str, Any]) -> None:
    assert detect(turn(**fields), CONV, POLICY, NOW) is None


def test_triggers_are_checked_in_order() -> None:
    both = turn(
        live_agent_handoff=True, payloads=({"action": "handoff", "team_id": 9},), intent="human.handoff"
    )
    signal = detect(both, CONV, POLICY, NOW)
    assert signal is not None
    assert signal.trigger == "live_agent_handoff"


def test_configured_names_replace_the_defaults() -> None:
    policy = HandoffPolicy(names=["escalate"])
    assert detect(turn(intent="escalate"), CONV, policy, NOW) is not None
    assert detect(turn(intent="human.handoff"), CONV, policy, NOW) is None


def test_trigger_groups_route_a_trigger_without_a_group_of_its_own() -> None:
    policy = replace(POLICY, groups={"intent_name": 6, "payload": 8})
    assert detect(turn(intent="human.handoff"), CONV, policy, NOW).group_id == 6  # type: ignore[union-attr]
    marked = turn(payloads=({"action": "handoff", "team_id": 3},))
    assert detect(marked, CONV, policy, NOW).group_id == 3  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("hint", "group"), [("Billing", 2), ("billing", 2), ("unknown", None), (-1, None), (True, None)]
)
def test_group_hints(hint: object, group: int | None) -> None:
    signal = detect(
        turn(payloads=({"livehandoff": {"action": "handoff", "group": hint}},)), CONV, POLICY, NOW
    )
    assert signal is not None
    assert signal.group_id == group


def test_reason_and_context_name_the_intent_and_cx_metadata() -> None:
    signal = detect(
        turn(
            intent="talk.to.person",
            live_agent_handoff=True,
            handoff_metadata={"reason": "asked", "nested": {}, "order_number": 4711.0, "score": 0.5},
        ),
        CONV,
        POLICY,
        NOW,
    )
    assert signal is not None
    assert "talk.to.person" in signal.reason
    assert signal.context == {
        "handoff_trigger": "live_agent_handoff",
        "bot_intent": "talk.to.person",
        "bot_reason": "asked",
        "bot_order_number": "4711",
        "bot_score": "0.5",
    }


# --- automatic triggers and the loop guard ----------------------------------------------------

FALLBACKS = replace(POLICY, after_fallbacks=3, groups={"fallbacks": 4})


def test_fallbacks_hand_off_after_n_in_a_row() -> None:
    fallback = turn(is_fallback=True, intent="Default Fallback Intent")
    assert detect(fallback, replace(CONV, fallback_streak=1), FALLBACKS, NOW) is None
    signal = detect(fallback, replace(CONV, fallback_streak=2), FALLBACKS, NOW)
    assert signal is not None
    assert signal.trigger == "fallbacks"
    assert signal.group_id == 4


def test_fallback_trigger_off_by_default() -> None:
    assert detect(turn(is_fallback=True), replace(CONV, fallback_streak=50), POLICY, NOW) is None


def test_bot_failure_apologises_by_default_and_hands_off_when_configured() -> None:
    assert on_bot_failure(CONV, POLICY, NOW) is None
    signal = on_bot_failure(CONV, replace(POLICY, on_bot_error="handoff"), NOW)
    assert signal is not None
    assert signal.trigger == "bot_error"


def test_the_loop_guard_holds_back_automatic_triggers_after_a_chat_ended() -> None:
    ended = Handoff("asked", started_at=NOW - timedelta(minutes=5), ended_at=NOW - timedelta(seconds=10))
    just_ended = replace(CONV, handoff=ended, fallback_streak=5)
    assert detect(turn(is_fallback=True), just_ended, FALLBACKS, NOW) is None
    assert on_bot_failure(just_ended, replace(POLICY, on_bot_error="handoff"), NOW) is None
    later = NOW + timedelta(seconds=FALLBACKS.guard_seconds)
    assert detect(turn(is_fallback=True), just_ended, FALLBACKS, later) is not None


def test_a_customer_asking_again_is_heard_even_right_after_a_chat() -> None:
    just_ended = replace(CONV, handoff=Handoff("asked", started_at=NOW, ended_at=NOW))
    assert detect(turn(intent="human.handoff"), just_ended, POLICY, NOW) is not None


def test_the_answer_to_the_return_event_never_hands_off() -> None:
    signal = detect(turn(live_agent_handoff=True), CONV, POLICY, NOW, answering_return_event=True)
    assert signal is None


# --- what travels -----------------------------------------------------------------------------


def event(seq: int, payload: feed.Payload) -> FeedEvent:
    return FeedEvent(seq=seq, payload=payload, created_at=NOW)


def test_transcript_keeps_customer_bot_and_agent_lines_in_order_and_skips_system() -> None:
    events = [
        event(1, feed.Message(Author.CUSTOMER, "hi", id="m1")),
        event(2, feed.Message(Author.BOT, "hello")),
        event(3, feed.HandoffRequested(State.HANDOFF_REQUESTED, "asked", "intent_name")),
        event(4, feed.Message(Author.SYSTEM, "Connecting…", code="connecting")),
        event(5, feed.Message(Author.AGENT, "Hi, Anna here", name="Anna")),
    ]
    lines = transcript_since_last_handoff(events)
    assert [(line.author, line.text) for line in lines] == [
        (Author.CUSTOMER, "hi"),
        (Author.BOT, "hello"),
        (Author.AGENT, "Hi, Anna here"),
    ]
    assert lines[2].name == "Anna"


def test_transcript_starts_after_the_last_ended_agent_chat() -> None:
    events = [
        event(1, feed.Message(Author.CUSTOMER, "old")),
        event(2, feed.HandoffEnded(State.ENDED, "agent")),
        event(3, feed.Message(Author.CUSTOMER, "new")),
        event(4, feed.Message(Author.BOT, "reply")),
    ]
    assert [line.text for line in transcript_since_last_handoff(events)] == ["new", "reply"]


def test_return_parameters() -> None:
    chat = DeskChat("cust-1", "CHAT1", agent=Agent("anna@example.com", "Anna"))
    conv = replace(CONV, chat=chat, handoff=Handoff("asked", started_at=NOW - timedelta(minutes=3)))
    assert return_parameters(conv, "agent", NOW) == {
        "ended_by": "agent",
        "agent_name": "Anna",
        "duration_seconds": 180,
    }


def test_memory_is_restored_only_after_the_bot_session_expired() -> None:
    memory = {"contexts": [{"name": "c", "lifespanCount": 2}]}
    short = replace(CONV, bot_memory=memory, handoff=Handoff("asked", started_at=NOW - timedelta(minutes=5)))
    long = replace(short, handoff=Handoff("asked", started_at=NOW - timedelta(minutes=25)))
    assert memory_to_restore(short, POLICY, NOW) is None
    assert memory_to_restore(long, POLICY, NOW) == memory
    assert memory_to_restore(replace(long, bot_memory=None), POLICY, NOW) is None
