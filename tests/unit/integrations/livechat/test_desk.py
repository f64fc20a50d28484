"""LiveChatDesk against the fake LiveChat: exact call sequences and bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from livehandoff.domain.model import Author, CustomerProfile, HandoffRequest, OpenedChat, TranscriptLine
from livehandoff.errors import ChatInactive, DeskError, DeskUnavailable, GroupsOffline, InvalidInput
from livehandoff.integrations.livechat.auth import TokenManager
from livehandoff.integrations.livechat.client import LiveChatClient
from livehandoff.integrations.livechat.desk import LiveChatDesk
from livehandoff.integrations.livechat.translate import MAX_EVENT_TEXT_BYTES, transcript_events

from .conftest import GROUP_ID, FakeLiveChat, api_error, load

AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
KNOWN_CUSTOMER = load("customer_token")["entity_id"]
CHAT_ID = "PJ0MRSHTDG"
TRANSCRIPT = (
    TranscriptLine(Author.CUSTOMER, "My parcel never arrived", AT),
    TranscriptLine(Author.BOT, "Sorry to hear that. What is your order number?", AT),
    TranscriptLine(Author.CUSTOMER, "Let me talk to a person", AT),
)


def handoff(**changes: Any) -> HandoffRequest:
    values: dict[str, Any] = {
        "conversation_id": "conv-1",
        "bot_session_id": "df-session-1",
        "language": "en",
        "reason": "customer asked for a human",
        "customer": CustomerProfile(name="Jane Doe", email="jane@example.com"),
        "transcript": TRANSCRIPT,
    }
    values.update(changes)
    return HandoffRequest(**values)


def known_customers_chat(thread_id: str, event_id: str) -> OpenedChat:
    """The known customer's chat ``CHAT_ID``, resumed, carrying the transcript in event ``event_id``."""
    return OpenedChat(
        customer_id=KNOWN_CUSTOMER, chat_id=CHAT_ID, thread_id=thread_id, resumed=True, event_ids=(event_id,)
    )


REOPENED_CHAT = known_customers_chat("Z8AGR5OUW", "Z8AGR5OUW_1")
"""The chat as ``resume_chat`` answers: a new thread opened with the transcript."""
STILL_ACTIVE_CHAT = known_customers_chat("K600PKZON8", "K600PKZON8_3")
"""The chat that was still active: the transcript sent into its current thread."""


@pytest.fixture
async def warm(tokens: TokenManager, fake: FakeLiveChat) -> None:
    """The agent token is already cached, as it is after the first handoff."""
    await tokens.agent_token()
    fake.calls.clear()


def refuse(error_type: str, status: int = 400) -> Any:
    return lambda call, entity: api_error(error_type, status)


def answer(body: dict[str, Any]) -> Any:
    return lambda call, entity: httpx.Response(200, json=body)


# --- open_chat: a new customer -----------------------------------------------------------------


@pytest.mark.usefixtures("warm")
async def test_new_customer_costs_three_calls(desk: LiveChatDesk, fake: FakeLiveChat) -> None:
    chat = await desk.open_chat(handoff())

    assert fake.actions == ["/v2/customer/token", "update_customer", "start_chat"]
    grant, update, start = fake.calls
    assert "entity_id" not in grant.json()
    customer_token = update.bearer
    assert customer_token is not None
    assert customer_token.startswith("dal:customer-")
    assert start.bearer == customer_token
    assert update.json() == {
        "name": "Jane Doe",
        "email": "jane@example.com",
        "session_fields": [
            {"livehandoff_conversation": "conv-1"},
            {"dialogflow_session": "df-session-1"},
            {"language": "en"},
            {"handoff_reason": "customer asked for a human"},
        ],
    }
    assert start.json() == {
        "chat": {
            "access": {"group_ids": [GROUP_ID]},
            "thread": {
                "events": [
                    {
                        "type": "message",
                        "text": "Conversation with the bot before the handoff"
                        " (reason: customer asked for a human)\n"
                        "Customer: My parcel never arrived\n"
                        "Bot: Sorry to hear that. What is your order number?\n"
                        "Customer: Let me talk to a person",
                        "custom_id": "livehandoff:transcript",
                    }
                ]
            },
        }
    }
    assert chat == OpenedChat(
        customer_id=fake.customer_tokens[customer_token],
        chat_id=CHAT_ID,
        thread_id="PGDGHT5G",
        resumed=False,
        event_ids=("PGDGHT5G_1",),
    )


async def test_first_handoff_after_start_also_refreshes_the_agent_token(
    desk: LiveChatDesk, fake: FakeLiveChat
) -> None:
    await desk.open_chat(handoff())

    assert fake.actions == ["/v2/token", "/v2/customer/token", "update_customer", "start_chat"]


@pytest.mark.usefixtures("warm")
@pytest.mark.parametrize(("requested", "routed"), [(None, GROUP_ID), (0, 0), (7, 7)])
async def test_requested_group_wins_over_the_configured_one(
    desk: LiveChatDesk, fake: FakeLiveChat, requested: int | None, routed: int
) -> None:
    await desk.open_chat(handoff(group_id=requested))

    assert fake.calls_to("start_chat")[0].json()["chat"]["access"] == {"group_ids": [routed]}


@pytest.mark.usefixtures("warm")
async def test_empty_transcript_starts_a_chat_without_events(desk: LiveChatDesk, fake: FakeLiveChat) -> None:
    await desk.open_chat(handoff(transcript=()))

    assert fake.calls_to("start_chat")[0].json() == {"chat": {"access": {"group_ids": [GROUP_ID]}}}


@pytest.mark.usefixtures("warm")
async def test_long_transcript_travels_in_events_under_16_kb(desk: LiveChatDesk, fake: FakeLiveChat) -> None:
    lines = tuple(TranscriptLine(Author.BOT, f"answer {i}: " + "ü" * 2000, AT) for i in range(40))

    await desk.open_chat(handoff(transcript=lines))

    events = fake.calls_to("start_chat")[0].json()["chat"]["thread"]["events"]
    assert len(events) > 1
    assert all(len(event["text"].encode()) <= MAX_EVENT_TEXT_BYTES for event in events)
    assert events == transcript_events(handoff(transcript=lines))


@pytest.mark.usefixtures("warm")
async def test_new_customer_refused_by_offline_groups(desk: LiveChatDesk, fake: FakeLiveChat) -> None:
    fake.customer_actions["start_chat"] = refuse("groups_offline")

    with pytest.raises(GroupsOffline):
        await desk.open_chat(handoff())

    assert fake.actions == ["/v2/customer/token", "update_customer", "start_chat"]


@pytest.mark.usefixtures("warm")
async def test_refused_customer_details_do_not_stop_the_handoff(
    desk: LiveChatDesk, fake: FakeLiveChat
) -> None:
    fake.customer_actions["update_customer"] = refuse("validation")

    with capture_logs() as logs:
        chat = await desk.open_chat(handoff(customer=CustomerProfile(email="not-an-email")))

    assert chat.chat_id == CHAT_ID
    assert fake.actions == ["/v2/customer/token", "update_customer", "start_chat"]
    [warning] = [entry for entry in logs if entry["log_level"] == "warning"]
    assert warning["event"] == "livechat.customer_update_refused"
    assert warning["error_type"] == "validation"
    assert "not-an-email" not in repr(logs)


@pytest.mark.usefixtures("warm")
async def test_customer_details_failing_for_an_outage_stop_the_handoff(
    desk: LiveChatDesk, fake: FakeLiveChat
) -> None:
    """The chat opens beside ``update_customer``. When the details cannot reach LiveChat on a second try
    either, the chat is closed again and the handoff fails as a whole: no agent gets a chat without them
    (an e-mail left for an offline team, the agent-only context)."""
    fake.customer_actions["update_customer"] = refuse("internal", 500)
    fake.customer_actions["deactivate_chat"] = answer({})

    with pytest.raises(DeskUnavailable):
        await desk.open_chat(handoff())

    assert fake.actions == [
        "/v2/customer/token",
        "update_customer",
        "start_chat",
        "update_customer",
        "deactivate_chat",
    ]
    assert fake.calls[-1].json() == {"id": CHAT_ID}


@pytest.mark.usefixtures("warm")
async def test_customer_details_that_fail_once_beside_the_chat_are_sent_again(
    desk: LiveChatDesk, fake: FakeLiveChat
) -> None:
    failures = [api_error("internal", 500)]
    fake.customer_actions["update_customer"] = lambda call, entity: (
        failures.pop() if failures else httpx.Response(200)
    )

    chat = await desk.open_chat(handoff())

    assert chat.chat_id == CHAT_ID
    assert fake.actions == ["/v2/customer/token", "update_customer", "start_chat", "update_customer"]


# --- open_chat: a returning customer -----------------------------------------------------------


@pytest.mark.usefixtures("warm")
async def test_returning_customer_resumes_the_known_chat(desk: LiveChatDesk, fake: FakeLiveChat) -> None:
    chat = await desk.open_chat(handoff(desk_customer_id=KNOWN_CUSTOMER, desk_chat_id=CHAT_ID))

    assert fake.actions == ["/v2/customer/token", "update_customer", "resume_chat"]
    assert fake.calls[0].json()["entity_id"] == KNOWN_CUSTOMER
    resume = fake.calls[2].json()
    assert resume["chat"]["id"] == CHAT_ID
    assert resume["chat"]["access"] == {"group_ids": [GROUP_ID]}
    assert resume["chat"]["thread"]["events"] == transcript_events(handoff())
    assert chat == REOPENED_CHAT


@pytest.mark.usefixtures("warm")
async def test_still_active_chat_is_used_as_it_is(desk: LiveChatDesk, fake: FakeLiveChat) -> None:
    fake.customer_actions["resume_chat"] = refuse("chat_active")

    chat = await desk.open_chat(handoff(desk_customer_id=KNOWN_CUSTOMER, desk_chat_id=CHAT_ID))

    assert fake.actions == ["/v2/customer/token", "update_customer", "resume_chat", "get_chat", "send_event"]
    assert fake.calls[3].json() == {"chat_id": CHAT_ID}
    assert fake.calls[4].json() == {"chat_id": CHAT_ID, "event": transcript_events(handoff())[0]}
    assert chat == STILL_ACTIVE_CHAT


@pytest.mark.usefixtures("warm")
async def test_resume_refused_for_an_inactive_chat_is_raised(desk: LiveChatDesk, fake: FakeLiveChat) -> None:
    fake.customer_actions["resume_chat"] = refuse("chat_anonymized")
    closed = load("get_chat")
    closed["thread"]["active"] = False
    fake.customer_actions["get_chat"] = answer(closed)

    with pytest.raises(DeskError) as caught:
        await desk.open_chat(handoff(desk_customer_id=KNOWN_CUSTOMER, desk_chat_id=CHAT_ID))

    assert caught.value.error_type == "chat_anonymized"


@pytest.mark.usefixtures("warm")
async def test_resume_refused_for_an_unreadable_chat_is_raised(
    desk: LiveChatDesk, fake: FakeLiveChat
) -> None:
    fake.customer_actions["resume_chat"] = refuse("not_found", 404)
    fake.customer_actions["get_chat"] = refuse("not_found", 404)

    with pytest.raises(DeskError) as caught:
        await desk.open_chat(handoff(desk_customer_id=KNOWN_CUSTOMER, desk_chat_id=CHAT_ID))

    assert caught.value.error_type == "not_found"
    assert fake.actions[-2:] == ["resume_chat", "get_chat"]


@pytest.mark.usefixtures("warm")
@pytest.mark.parametrize(
    ("refused_action", "error_type", "handoff_request", "raised", "not_tried"),
    [
        pytest.param(
            "start_chat",
            "validation",
            handoff(),
            DeskError,
            "list_chats",
            id="new_customer_refusal",
        ),
        pytest.param(
            "start_chat",
            "groups_offline",
            handoff(desk_customer_id=KNOWN_CUSTOMER),
            GroupsOffline,
            "list_chats",
            id="returning_customer_refused_by_offline_groups",
        ),
        pytest.param(
            "resume_chat",
            "groups_offline",
            handoff(desk_customer_id=KNOWN_CUSTOMER, desk_chat_id=CHAT_ID),
            GroupsOffline,
            "get_chat",
            id="resume_to_offline_groups",
        ),
    ],
)
async def test_a_refusal_is_not_second_guessed(
    desk: LiveChatDesk,
    fake: FakeLiveChat,
    refused_action: str,
    error_type: str,
    handoff_request: HandoffRequest,
    raised: type[DeskError],
    not_tried: str,
) -> None:
    fake.customer_actions[refused_action] = refuse(error_type)

    with pytest.raises(raised) as caught:
        await desk.open_chat(handoff_request)

    assert caught.value.error_type == error_type
    assert not_tried not in fake.actions


@pytest.fixture
def start_refused_for_an_existing_chat(fake: FakeLiveChat) -> None:
    """``start_chat`` answers ``limit_reached``: the customer already has a chat."""
    fake.customer_actions["start_chat"] = refuse("limit_reached")


@pytest.mark.usefixtures("warm", "start_refused_for_an_existing_chat")
async def test_start_refused_because_a_chat_exists_resumes_it(desk: LiveChatDesk, fake: FakeLiveChat) -> None:
    chat = await desk.open_chat(handoff(desk_customer_id=KNOWN_CUSTOMER))

    assert fake.actions == [
        "/v2/customer/token",
        "update_customer",
        "start_chat",
        "list_chats",
        "resume_chat",
    ]
    assert fake.calls[3].json() == {"limit": 10}
    assert fake.calls[4].json()["chat"]["id"] == CHAT_ID
    assert fake.calls[4].json()["chat"]["thread"]["events"] == transcript_events(handoff())
    assert chat == REOPENED_CHAT


@pytest.mark.usefixtures("warm", "start_refused_for_an_existing_chat")
async def test_start_refused_because_an_active_chat_exists_uses_it(
    desk: LiveChatDesk, fake: FakeLiveChat
) -> None:
    chats = load("list_chats")
    chats["chats_summary"][0]["active"] = True
    fake.customer_actions["list_chats"] = answer(chats)

    chat = await desk.open_chat(handoff(desk_customer_id=KNOWN_CUSTOMER))

    assert fake.actions == ["/v2/customer/token", "update_customer", "start_chat", "list_chats", "send_event"]
    assert chat == STILL_ACTIVE_CHAT


@pytest.mark.usefixtures("warm", "start_refused_for_an_existing_chat")
async def test_start_refused_without_any_chat_raises_the_refusal(
    desk: LiveChatDesk, fake: FakeLiveChat
) -> None:
    fake.customer_actions["list_chats"] = answer({"chats_summary": []})

    with pytest.raises(DeskError) as caught:
        await desk.open_chat(handoff(desk_customer_id=KNOWN_CUSTOMER))

    assert caught.value.error_type == "limit_reached"


@pytest.mark.usefixtures("warm")
async def test_expired_customer_token_is_renewed_mid_handoff(
    desk: LiveChatDesk, tokens: TokenManager, fake: FakeLiveChat
) -> None:
    await tokens.customer(KNOWN_CUSTOMER)
    fake.customer_tokens.clear()
    fake.calls.clear()

    chat = await desk.open_chat(handoff(desk_customer_id=KNOWN_CUSTOMER, desk_chat_id=CHAT_ID))

    assert fake.actions == ["update_customer", "/v2/customer/token", "update_customer", "resume_chat"]
    assert fake.calls[1].json()["entity_id"] == KNOWN_CUSTOMER
    assert chat.resumed


# --- send_message and agent_name ---------------------------------------------------------------


async def test_send_message_sends_one_customer_event(desk: LiveChatDesk, fake: FakeLiveChat) -> None:
    (event_id,) = await desk.send_message(customer_id=KNOWN_CUSTOMER, chat_id=CHAT_ID, text="Order 12345")

    send = fake.calls_to("send_event")
    assert [call.json() for call in send] == [
        {"chat_id": CHAT_ID, "event": {"type": "message", "text": "Order 12345"}}
    ]
    assert fake.customer_tokens[send[0].bearer or ""] == KNOWN_CUSTOMER
    assert event_id.startswith("K600PKZON8_")


async def test_send_message_to_a_closed_chat_is_chat_inactive(desk: LiveChatDesk, fake: FakeLiveChat) -> None:
    fake.customer_actions["send_event"] = refuse("chat_inactive")

    with pytest.raises(ChatInactive):
        await desk.send_message(customer_id=KNOWN_CUSTOMER, chat_id=CHAT_ID, text="Hello?")


async def test_send_message_over_the_limit_goes_in_pieces(
    client: LiveChatClient, tokens: TokenManager, fake: FakeLiveChat
) -> None:
    desk = LiveChatDesk(client, tokens=tokens, group_id=GROUP_ID, max_event_bytes=100)
    ids = iter(["E_1", "E_2", "E_3"])
    fake.customer_actions["send_event"] = lambda call, entity: httpx.Response(
        200, json={"event_id": next(ids)}
    )

    event_ids = await desk.send_message(customer_id=KNOWN_CUSTOMER, chat_id=CHAT_ID, text="word " * 50)

    texts = [call.json()["event"]["text"] for call in fake.calls_to("send_event")]
    assert len(texts) == 3
    assert "".join(texts) == "word " * 50
    assert event_ids == ["E_1", "E_2", "E_3"]


async def test_send_message_refuses_an_empty_text(desk: LiveChatDesk, fake: FakeLiveChat) -> None:
    with pytest.raises(InvalidInput):
        await desk.send_message(customer_id=KNOWN_CUSTOMER, chat_id=CHAT_ID, text="  ")

    assert "send_event" not in fake.actions


async def test_agent_name_reads_the_chat(desk: LiveChatDesk, fake: FakeLiveChat) -> None:
    name = await desk.agent_name(customer_id=KNOWN_CUSTOMER, chat_id=CHAT_ID, agent_id="smith@example.com")
    missing = await desk.agent_name(customer_id=KNOWN_CUSTOMER, chat_id=CHAT_ID, agent_id="gone@example.com")

    assert (name, missing) == ("Agent Smith", None)
    assert [call.json() for call in fake.calls_to("get_chat")] == [{"chat_id": CHAT_ID}] * 2


# --- logs --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("warm")
async def test_customer_text_never_reaches_the_logs(desk: LiveChatDesk) -> None:
    with capture_logs() as logs:
        chat = await desk.open_chat(handoff())
        await desk.send_message(customer_id=chat.customer_id, chat_id=chat.chat_id, text="my card is 4111")

    dumped = repr(logs)
    assert "parcel" not in dumped
    assert "4111" not in dumped
    assert "dal:customer-" not in dumped
    opened = [entry for entry in logs if entry["event"] == "livechat.chat_opened"]
    assert opened == [
        {
            "event": "livechat.chat_opened",
            "log_level": "info",
            "conversation_id": "conv-1",
            "customer_id": chat.customer_id,
            "chat_id": CHAT_ID,
            "thread_id": "PGDGHT5G",
            "resumed": False,
            "group_id": GROUP_ID,
            "transcript_events": 1,
        }
    ]


@pytest.mark.usefixtures("warm")
async def test_outage_while_checking_a_refused_resume_is_raised(
    desk: LiveChatDesk, fake: FakeLiveChat
) -> None:
    fake.customer_actions["resume_chat"] = refuse("chat_active")
    fake.customer_actions["get_chat"] = refuse("service_unavailable", 503)

    with pytest.raises(DeskUnavailable):
        await desk.open_chat(handoff(desk_customer_id=KNOWN_CUSTOMER, desk_chat_id=CHAT_ID))
