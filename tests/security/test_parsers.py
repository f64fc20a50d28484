"""Property tests for every parser of outside input: whatever arrives, the answer is a value or the
parser's documented error (``InvalidInput`` for webhooks, ``ValueError`` for the emulators' files) —
never another exception."""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from livehandoff.domain.model import DeskUpdate
from livehandoff.emulators.dialogflow import load_agent
from livehandoff.emulators.dialogflow.cx import load_cx_agent, parse_cx_agent
from livehandoff.emulators.livechat import load_seed
from livehandoff.emulators.livechat.seed import parse_seed
from livehandoff.errors import InvalidInput
from livehandoff.integrations.dialogflow.fulfillment import (
    FulfillmentAnswer,
    answer_cx,
    answer_es,
    parse_cx,
    parse_es,
)
from livehandoff.integrations.livechat.webhook import WebhookSecretMismatch, parse_webhook
from livehandoff.web.schemas import PostMessage
from tests.security import strategies as s
from tests.security.conftest import FUZZ

SECRET = "parser-test-webhook-secret"
ANSWER = FulfillmentAnswer(
    texts=("Anna: hi",), with_agent=True, keep_bot_messages=True, stream={"token": "t"}
)


def encoded(document: Any) -> bytes:
    return json.dumps(document).encode()


# --- LiveChat webhooks -----------------------------------------------------------------------------


def webhook_outcome(body: bytes) -> DeskUpdate | InvalidInput | None:
    try:
        return parse_webhook(body, secret=SECRET)
    except InvalidInput as exc:
        return exc


@FUZZ
@given(st.binary(max_size=300))
@example(b"\xff\xfe")
@example(b"NaN")
@example(b'{"secret_key": "parser-test-webhook-secret"}')
def test_livechat_webhook_bytes(body: bytes) -> None:
    assert isinstance(webhook_outcome(body), DeskUpdate | InvalidInput | None)


@FUZZ
@given(s.livechat_envelopes(SECRET))
def test_livechat_webhook_envelopes_with_the_secret(document: dict[str, Any]) -> None:
    outcome = webhook_outcome(encoded(document))
    assert isinstance(outcome, DeskUpdate | InvalidInput | None)
    assert not isinstance(outcome, WebhookSecretMismatch)


@FUZZ
@given(s.livechat_envelopes(SECRET), s.json_values())
def test_livechat_webhooks_with_another_secret_are_refused_first(
    document: dict[str, Any], other: Any
) -> None:
    if other == SECRET:
        return
    outcome = webhook_outcome(encoded({**document, "secret_key": other}))
    assert isinstance(outcome, WebhookSecretMismatch)


# --- Dialogflow fulfillment webhooks -------------------------------------------------------------


def es_outcome(body: bytes) -> None:
    """Parse, then answer the way the webhook does (the answer copies the request's messages)."""
    try:
        turn, result = parse_es(body)
    except InvalidInput:
        return
    json.loads(answer_es(turn.session, result, ANSWER))


def cx_outcome(body: bytes) -> None:
    try:
        parse_cx(body)
    except InvalidInput:
        return
    json.loads(answer_cx(ANSWER))


@FUZZ
@given(st.binary(max_size=300))
@example(b'{"session": "s", "queryResult": []}')
@example(b"\xed\xa0\x80")
def test_fulfillment_bytes(body: bytes) -> None:
    es_outcome(body)
    cx_outcome(body)


@FUZZ
@given(s.ES_REQUESTS)
def test_es_webhook_requests(document: dict[str, Any]) -> None:
    es_outcome(encoded(document))


@FUZZ
@given(s.CX_REQUESTS)
def test_cx_webhook_requests(document: dict[str, Any]) -> None:
    cx_outcome(encoded(document))


@FUZZ
@given(s.json_values(["session", "queryResult", "sessionInfo", "messages", "intentInfo", "text"]))
def test_fulfillment_json_of_any_shape(document: Any) -> None:
    es_outcome(encoded(document))
    cx_outcome(encoded(document))


# --- the emulators' input files -------------------------------------------------------------------

SEED_KEYS = (
    "organizations", "id", "license_id", "groups", "agents", "apps", "name", "language_code", "account_id",
    "pat", "pat_scopes", "routing_status", "max_chats_count", "client_id", "client_secret", "refresh_tokens",
    "token", "agent_id", "scopes", "redirect_uris", "job_title", "avatar",
)  # fmt: skip


def refused_with_value_error(load: Any, *args: Any) -> None:
    """``load(*args)`` returns, or raises ``ValueError``; anything else fails the test."""
    with contextlib.suppress(ValueError):
        load(*args)


@FUZZ
@given(s.json_values(SEED_KEYS))
@example({"organizations": [{"agents": [{"id": "a@b.co", "name": "A"}], "apps": [{}], "groups": [5]}]})
@example({"organizations": [{"agents": [{"id": "a@b.co", "name": "A", "groups": [1]}], "apps": [{}]}]})
def test_livechat_seeds(document: Any) -> None:
    refused_with_value_error(parse_seed, document)


@FUZZ
@given(st.binary(max_size=200))
def test_livechat_seed_files(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "seed.json"
        path.write_bytes(content)
        refused_with_value_error(load_seed, path)


EXPORT_KEYS = (
    "displayName", "language", "supportedLanguages", "mlMinConfidence", "defaultTimezone", "name", "id",
    "responses", "messages", "type", "speech", "lang", "contexts", "affectedContexts", "parameters",
    "data", "text", "alias", "meta", "userDefined", "isTemplate", "events", "fallbackIntent", "priority",
    "action", "resetContexts", "dataType", "value", "synonyms", "entries", "isEnum", "automatedExpansion",
    "webhookUsed", "endInteraction", "liveAgentHandoff", "payload", "lifespan", "required", "prompts",
)  # fmt: skip
EXPORT_FILES = st.dictionaries(
    st.sampled_from(
        [
            "agent.json",
            "package.json",
            "intents/a.json",
            "intents/a_usersays_en.json",
            "intents/b.json",
            "intents/b_usersays_de.json",
            "entities/e.json",
            "entities/e_entries_en.json",
            "top/agent.json",
        ]
    ),
    s.json_values(EXPORT_KEYS).map(encoded) | st.binary(max_size=40),
    max_size=6,
)


@FUZZ
@given(EXPORT_FILES, st.booleans())
@example({"agent.json": b"{}", "intents/a.json": b'{"name": "a", "responses": [{"messages": [5]}]}'}, False)
@example({"agent.json": b"{}", "intents/a_usersays_en.json": b"[]"}, True)
def test_dialogflow_exports(files: dict[str, bytes], zipped: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "export"
        if zipped:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for name, content in files.items():
                    archive.writestr(name, content)
            root = root.with_suffix(".zip")
            root.write_bytes(buffer.getvalue())
        else:
            for name, content in files.items():
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(content)
        refused_with_value_error(load_agent, root)


CX_KEYS = (
    "agent", "displayName", "defaultLanguageCode", "classificationThreshold", "entityTypes", "intents",
    "flow", "pages", "routes", "eventHandlers", "entryFulfillment", "messages", "text", "payload",
    "liveAgentHandoff", "metadata", "endInteraction", "intent", "targetPage", "event", "condition",
    "trainingPhrases", "parameters", "setParameterActions", "parameter", "value", "name", "kind",
    "entities", "synonyms", "id", "entityType",
)  # fmt: skip


@FUZZ
@given(s.json_values(CX_KEYS))
def test_dialogflow_cx_definitions(document: Any) -> None:
    refused_with_value_error(parse_cx_agent, document)


@pytest.mark.parametrize("content", [b"", b"\xff", b"[]", b'{"agent": 5}'])
def test_dialogflow_cx_definition_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "cx.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"cx\.json"):
        load_cx_agent(path)


# --- the customer API's message body ----------------------------------------------------------------


@FUZZ
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40))
@example("\x1c\u2028\xa0")
@example("\u200b")
def test_the_documented_text_pattern_is_the_one_applied(text: str) -> None:
    """A client that follows the OpenAPI document's pattern for ``text`` is never refused, and one that
    breaks it always is."""
    pattern = PostMessage.model_json_schema()["properties"]["text"]["pattern"]
    try:
        PostMessage(text=text)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == bool(re.search(pattern, text))
