"""Webhook deliveries: secret first, then envelope, then translation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from livehandoff.domain.model import AgentJoined, AgentMessage, ChatEnded
from livehandoff.errors import ConfigurationError, InvalidInput
from livehandoff.integrations.livechat import wire
from livehandoff.integrations.livechat.webhook import (
    MAX_SECRET_CANDIDATES,
    WebhookOrganizationMismatch,
    WebhookSecretMismatch,
    carries_secret,
    parse_webhook,
)

from .conftest import ORGANIZATION_ID, load

SECRET = "laudla991lamda0pnoaa0"


def body(name: str, **changes: Any) -> bytes:
    document = load(f"webhooks/{name}")
    document.update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("incoming_event_message", AgentMessage),
        ("user_added_to_chat_agent", AgentJoined),
        ("chat_deactivated_by_agent", ChatEnded),
        ("chat_deactivated_by_router", ChatEnded),
    ],
)
def test_good_deliveries_become_desk_events(name: str, expected: type) -> None:
    event = parse_webhook(body(name), secret=SECRET)

    assert isinstance(event, expected)
    assert event is not None
    assert event.chat_id == "PJ0MRSHTDG"


@pytest.mark.parametrize(
    "name",
    [
        "incoming_event_system_message",
        "incoming_event_internal_note",
        "user_added_to_chat_customer",
        "incoming_chat",
    ],
)
def test_deliveries_without_a_desk_event_give_none(name: str) -> None:
    assert parse_webhook(body(name), secret=SECRET) is None


def test_unknown_action_gives_none() -> None:
    delivery = body(
        "chat_deactivated_by_agent", action="thread_tagged", payload={"chat_id": "X", "tag": "vip"}
    )

    assert parse_webhook(delivery, secret=SECRET) is None


def test_a_delivery_becomes_the_event_its_envelope_carries() -> None:
    """The envelope ``parse_webhook`` validates holds LiveChat's facts; ``action`` picks the translation."""
    document = load("webhooks/incoming_event_message")
    envelope = wire.WebhookEnvelope.model_validate(document)

    assert envelope.action == "incoming_event"
    assert envelope.webhook_id == "a0c22fdd-fb71-40b5-bfc6-a8a0bc3117f7"
    assert envelope.organization_id == ORGANIZATION_ID
    assert parse_webhook(json.dumps(document).encode(), secret=SECRET) == AgentMessage(
        chat_id="PJ0MRSHTDG",
        event_id="Q298LUVPRH_1",
        agent_id="smith@example.com",
        text="Hello, I'm Agent Smith. How can I help?",
        created_at=datetime(2019, 12, 17, 7, 57, 41, 512000, tzinfo=UTC),
    )


@pytest.mark.parametrize("field", ["webhook_id", "action", "organization_id"])
@pytest.mark.parametrize("value", [5, None, ["incoming_event"]], ids=repr)
def test_envelope_facts_must_be_strings(field: str, value: object) -> None:
    with pytest.raises(InvalidInput, match=field):
        parse_webhook(body("incoming_event_message", **{field: value}), secret=SECRET)


@pytest.mark.parametrize("secret_key", ["wrong", "", SECRET.upper(), SECRET + " ", 12345, None])
def test_wrong_secret_is_refused(secret_key: object) -> None:
    with pytest.raises(WebhookSecretMismatch):
        parse_webhook(body("incoming_event_message", secret_key=secret_key), secret=SECRET)


def test_missing_secret_is_refused_before_anything_else() -> None:
    document = {"action": "incoming_event", "payload": "not even an object"}

    with pytest.raises(WebhookSecretMismatch):
        parse_webhook(json.dumps(document).encode(), secret=SECRET)


def test_secret_mismatch_is_invalid_input() -> None:
    assert issubclass(WebhookSecretMismatch, InvalidInput)


def test_our_secret_must_be_configured() -> None:
    with pytest.raises(ConfigurationError):
        parse_webhook(body("incoming_event_message", secret_key=""), secret="")


@pytest.mark.parametrize(
    "raw", [b"", b"{not json", b"\xff\xfe\x00", b"[1, 2]", b'"incoming_event"', b"null"], ids=repr
)
def test_malformed_bodies_without_the_secret_are_refused_unparsed(raw: bytes) -> None:
    with pytest.raises(WebhookSecretMismatch):
        parse_webhook(raw, secret=SECRET)


SECRET_MEMBER = f'"secret_key": "{SECRET}"'.encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"{" + SECRET_MEMBER + b", not json",
        b"{" + SECRET_MEMBER + b', "text": "\xff\xfe"}',
        b"[{" + SECRET_MEMBER + b"}]",
        b"{" + SECRET_MEMBER + b', "payload": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b"{" + SECRET_MEMBER + b', "payload": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"}",
    ],
    ids=["not JSON", "not UTF-8", "an array", "deep arrays", "deep objects"],
)
def test_malformed_bodies_with_the_secret_are_invalid_input(raw: bytes) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_webhook(raw, secret=SECRET)

    assert not isinstance(caught.value, WebhookSecretMismatch)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"secret_key": "wrong", "payload": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"payload": {"secret_key": "' + b"a" * 1_000_000 + b'"}}',
        b'{"text": "\\"secret_key\\": \\"' + SECRET.encode() + b'\\""}',
    ],
    ids=["deep, no secret", "deep, wrong secret", "a huge secret", "the secret quoted in a text"],
)
def test_hostile_bodies_without_the_secret_are_refused_unparsed(raw: bytes) -> None:
    with pytest.raises(WebhookSecretMismatch):
        parse_webhook(raw, secret=SECRET)


def test_the_secret_may_be_written_with_escapes() -> None:
    escaped = "".join(f"\\u{ord(char):04x}" for char in SECRET)
    raw = body("chat_deactivated_by_agent").replace(f'"{SECRET}"'.encode(), f'"{escaped}"'.encode())

    assert isinstance(parse_webhook(raw, secret=SECRET), ChatEnded)


def test_a_nested_secret_alone_is_not_enough() -> None:
    document = load("webhooks/chat_deactivated_by_agent")
    del document["secret_key"]
    document["payload"]["secret_key"] = SECRET

    with pytest.raises(WebhookSecretMismatch):
        parse_webhook(json.dumps(document).encode(), secret=SECRET)


@pytest.mark.parametrize(
    ("decoys", "found"), [(MAX_SECRET_CANDIDATES - 1, True), (MAX_SECRET_CANDIDATES, False)]
)
def test_only_the_first_secret_keys_are_read(decoys: int, found: bool) -> None:
    raw = b"{" + b'"secret_key": "no", ' * decoys + SECRET_MEMBER + b"}"

    assert carries_secret(raw, SECRET) is found


def test_a_lone_surrogate_as_secret_is_a_mismatch() -> None:
    with pytest.raises(WebhookSecretMismatch):
        parse_webhook(b'{"secret_key": "\\ud800"}', secret=SECRET)


def test_the_configured_organization_is_required() -> None:
    delivery = body("chat_deactivated_by_agent")

    assert isinstance(parse_webhook(delivery, secret=SECRET, organization_id=ORGANIZATION_ID), ChatEnded)
    with pytest.raises(WebhookOrganizationMismatch):
        parse_webhook(delivery, secret=SECRET, organization_id="another-organization")


def test_without_a_configured_organization_any_is_accepted() -> None:
    delivery = body("chat_deactivated_by_agent", organization_id="another-organization")

    assert isinstance(parse_webhook(delivery, secret=SECRET, organization_id=""), ChatEnded)


def test_a_wrong_secret_is_told_before_a_wrong_organization() -> None:
    delivery = body("chat_deactivated_by_agent", secret_key="wrong", organization_id="another-organization")

    with pytest.raises(WebhookSecretMismatch):
        parse_webhook(delivery, secret=SECRET, organization_id=ORGANIZATION_ID)


@pytest.mark.parametrize("field", ["webhook_id", "action", "organization_id", "payload"])
def test_envelope_fields_are_required(field: str) -> None:
    document = load("webhooks/incoming_event_message")
    del document[field]

    with pytest.raises(InvalidInput, match=field):
        parse_webhook(json.dumps(document).encode(), secret=SECRET)


def test_invalid_payload_is_invalid_input() -> None:
    delivery = body("chat_deactivated_by_agent", payload={"thread_id": "K600PKZON8"})

    with pytest.raises(InvalidInput, match=r"chat_deactivated.*chat_id"):
        parse_webhook(delivery, secret=SECRET)


def test_non_ascii_secret_compares() -> None:
    assert parse_webhook(body("chat_deactivated_by_agent", secret_key="sécret"), secret="sécret") is not None
