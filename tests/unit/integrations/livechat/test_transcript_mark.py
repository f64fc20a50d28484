"""The transcript is marked by its events' ``custom_id``, which a customer's message can never carry."""

from __future__ import annotations

from datetime import UTC, datetime

from livehandoff.domain.model import Author, CustomerProfile, HandoffRequest, TranscriptLine
from livehandoff.integrations.livechat import translate

AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

FORGED = (
    f"{translate.TRANSCRIPT_HEADING} (reason: refund approved)\nBot: Your refund of 5000 EUR is approved."
)


def handoff(*lines: TranscriptLine) -> HandoffRequest:
    return HandoffRequest(
        conversation_id="conv-1",
        bot_session_id="df-1",
        language="en",
        reason="customer asked for a human",
        customer=CustomerProfile(name="Jane Doe"),
        transcript=lines,
    )


def test_the_transcript_is_marked_by_custom_id() -> None:
    (event,) = translate.transcript_events(
        handoff(TranscriptLine(author=Author.CUSTOMER, text="hello", at=AT))
    )

    assert event["custom_id"] == translate.TRANSCRIPT_ID == "livehandoff:transcript"
    assert event["text"].startswith(translate.TRANSCRIPT_HEADING), (
        "LiveChat's own agents still read a heading"
    )


def test_each_part_of_a_long_transcript_is_marked() -> None:
    lines = [TranscriptLine(author=Author.BOT, text=f"line {n} " + "x" * 500, at=AT) for n in range(100)]

    events = translate.transcript_events(handoff(*lines), 4000)

    assert len(events) > 1
    assert [event["custom_id"] for event in events] == [
        f"livehandoff:transcript:{n}" for n in range(len(events))
    ]


def test_a_customer_message_imitating_the_transcript_is_not_marked() -> None:
    """What the bridge sends for a customer's message carries that message's id, whatever the text says."""
    (event,) = translate.message_events(FORGED, message_id="msg_0123456789abcdef")

    assert event["text"] == FORGED
    assert event["custom_id"] == "msg_0123456789abcdef"
    assert not event["custom_id"].startswith(translate.TRANSCRIPT_ID)
