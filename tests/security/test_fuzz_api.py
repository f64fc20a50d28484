"""Schemathesis over the bridge's own OpenAPI document, against the whole stack on loopback.

Every documented operation gets valid and invalid requests (bodies, path, query and headers). However
wrong the request, the answer is never a 5xx and always one the document describes: its status, its
content type, its body's schema and its headers.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.case import Case

from livehandoff.config import Settings
from livehandoff.devstack import Stack
from livehandoff.web.app import create_app
from tests.security.conftest import FUZZ

EXAMPLES_PER_OPERATION = 50


@pytest.fixture(scope="module")
def conversation(threaded_stack: Stack) -> tuple[str, str]:
    """A real conversation, so generated requests also get past the token check."""
    with httpx.Client(base_url=threaded_stack.bridge_url, timeout=10) as http:
        created = http.post("/v1/conversations").json()
    return created["id"], created["token"]


DOCUMENT = create_app(Settings()).openapi()
"""The document the app serves; built here because schemathesis needs it when tests are collected."""
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": ["400", "401", "404", "413", "422", "429"]}}}
)
"""A body over the size limit is refused with 413 before it is parsed; schemathesis does not expect it."""
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


def test_the_fuzzed_document_is_the_served_one(threaded_stack: Stack) -> None:
    with httpx.Client(base_url=threaded_stack.bridge_url, timeout=10) as http:
        assert http.get("/openapi.json").json() == DOCUMENT


@schema.parametrize()
@settings(FUZZ, max_examples=EXAMPLES_PER_OPERATION)
def test_any_request_gets_a_documented_answer(case: Case, threaded_stack: Stack) -> None:
    case.call_and_validate(base_url=threaded_stack.bridge_url, timeout=10)


@schema.exclude(path_regex=r"/events$").parametrize()
@settings(FUZZ, max_examples=EXAMPLES_PER_OPERATION)
def test_any_request_with_a_valid_token_gets_a_documented_answer(
    case: Case, threaded_stack: Stack, conversation: tuple[str, str]
) -> None:
    """The event stream is left out: with a valid token it never ends."""
    conversation_id, token = conversation
    if case.path_parameters and "conversation_id" in case.path_parameters:
        case.path_parameters["conversation_id"] = conversation_id
    case.headers = {**(case.headers or {}), "authorization": f"Bearer {token}"}
    case.call_and_validate(base_url=threaded_stack.bridge_url, timeout=10)
