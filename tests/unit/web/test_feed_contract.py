"""The feed events' public contract: every kind in ``/openapi.json`` and in ``docs/api.md``, and what the
customer API sends fits what the document says."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from livehandoff.config import Settings
from livehandoff.domain import feed
from livehandoff.domain.feed import PAYLOADS, FeedEvent, FeedKind, payload_data, payload_from_data
from livehandoff.domain.model import Author, State
from livehandoff.web.app import create_app

API_DOC = Path(__file__).parents[3] / "docs" / "api.md"
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)

ONE_OF_EACH: list[feed.Payload] = [
    feed.Message(Author.CUSTOMER, "hi", id="msg_1"),
    feed.Message(Author.BOT, "Hello!", quick_replies=("Shipping", "Returns")),
    feed.Message(Author.AGENT, "Hi, Anna here.", name="Anna"),
    feed.Message(Author.SYSTEM, "Connecting you to an agent…", code="connecting"),
    feed.MessageQueued("msg_1"),
    feed.MessageDelivered("msg_1"),
    feed.HandoffRequested(State.HANDOFF_REQUESTED, "intent human.handoff is a handoff intent", "intent_name"),
    feed.WaitingForAgent(State.HANDOFF_REQUESTED),
    feed.QueuePosition(3, None),
    feed.QueuePosition(2, 90),
    feed.AwaitingEmail(State.AWAITING_EMAIL),
    feed.AgentJoined(State.AGENT, feed.AgentName("Anna")),
    feed.HandoffEnded(State.ENDED, "agent"),
    feed.HandoffFailed(State.HANDOFF_FAILED, "offline"),
    feed.HandoffCancelled(State.ENDED),
]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    spec: dict[str, Any] = create_app(Settings()).openapi()
    return spec


def test_the_samples_cover_every_kind() -> None:
    assert {payload.kind for payload in ONE_OF_EACH} == set(FeedKind)


@pytest.mark.parametrize("kind", list(FeedKind))
def test_every_kind_has_a_schema_with_every_field(document: dict[str, Any], kind: FeedKind) -> None:
    schemas = document["components"]["schemas"]
    name = f"{PAYLOADS[kind].__name__}Event"
    schema = schemas[name]
    assert schema["properties"]["type"]["const"] == kind.value
    fields = {field.name for field in dataclasses.fields(PAYLOADS[kind])}
    assert {"seq", "type", "created_at"} | fields == set(schema["properties"])
    union = schemas["FeedEvent"]
    assert union["discriminator"]["mapping"][kind.value] == f"#/components/schemas/{name}"
    assert {"$ref": f"#/components/schemas/{name}"} in union["oneOf"]


def test_the_event_stream_and_the_transcript_refer_to_the_feed_events(document: dict[str, Any]) -> None:
    stream = document["paths"]["/v1/conversations/{conversation_id}/events"]["get"]["responses"]["200"]
    assert stream["content"]["text/event-stream"]["schema"]["$ref"] == "#/components/schemas/FeedEvent"
    transcript = document["components"]["schemas"]["ConversationOut"]["properties"]["transcript"]
    assert transcript["items"] == {"$ref": "#/components/schemas/MessageEvent"}


@pytest.mark.parametrize("payload", ONE_OF_EACH, ids=lambda payload: payload.kind.value)
def test_what_the_api_sends_fits_the_document(document: dict[str, Any], payload: feed.Payload) -> None:
    root = {"$ref": "#/components/schemas/FeedEvent", "components": document["components"]}
    shown = FeedEvent(seq=7, payload=payload, created_at=NOW).as_json()
    jsonschema_rs.validator_for(root).validate(shown)
    assert shown["type"] == payload.kind.value


@pytest.mark.parametrize("payload", ONE_OF_EACH, ids=lambda payload: payload.kind.value)
def test_every_kind_reads_back_from_its_json(payload: feed.Payload) -> None:
    assert payload_from_data(payload.kind.value, payload_data(payload)) == payload


def test_a_stored_kind_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown feed event kind"):
        payload_from_data("typing_indicator", {})
    with pytest.raises(ValueError, match="MessageQueued"):
        payload_from_data("message_queued", {})


@pytest.mark.parametrize("kind", list(FeedKind))
def test_docs_api_md_describes_every_kind_and_its_fields(kind: FeedKind) -> None:
    rows = [line for line in API_DOC.read_text().splitlines() if line.startswith(f"| `{kind.value}` |")]
    assert len(rows) == 1, f"docs/api.md has no row for `{kind.value}` in its event types"
    documented = set(re.findall(r"`(\w+)`", rows[0].split("|")[2]))
    fields = {field.name for field in dataclasses.fields(PAYLOADS[kind])}
    assert fields <= documented, f"`{kind.value}`: {fields - documented} missing from docs/api.md"
