"""Building the CX ``DetectIntentResponse`` with the official ``google.cloud.dialogflowcx_v3`` types.

The library's own classes guarantee the JSON has the real schema. Resource names follow CX: the
default start flow's id is all zeros in every agent, its start page is ``START_PAGE`` ("Start Page"),
and a session that ended reports the symbolic page ``END_SESSION`` ("End Session"). Intent and page
ids are stable UUIDs derived from display names (``definition.py``). ``match`` says how the turn was
decided (``INTENT``, ``NO_MATCH`` with the ``sys.no-match-default`` event, or ``EVENT``); the
deprecated ``intent``/``intentDetectionConfidence`` are still filled, as CX does, for older callers.
Empty parameter maps are left out rather than sent as ``{}``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from google.cloud.dialogflowcx_v3 import types

from livehandoff.emulators.dialogflow.cx.model import NO_MATCH_EVENT, CxIntent, Page
from livehandoff.emulators.dialogflow.model import JsonValue

#: The id of the default start flow in every CX agent.
START_FLOW_ID = "00000000-0000-0000-0000-000000000000"

MatchType = types.Match.MatchType


@dataclass(frozen=True, slots=True)
class CxOutcome:
    """Everything a response is built from."""

    agent_path: str
    session: str
    turn: int
    language: str
    text: str | None
    event: str | None
    match_type: int
    intent: CxIntent | None
    confidence: float
    intent_parameters: Mapping[str, JsonValue]
    parameters: Mapping[str, JsonValue]
    messages: Sequence[types.ResponseMessage]
    page: Page | None
    ended: bool
    flow_name: str


def build_response(outcome: CxOutcome) -> types.DetectIntentResponse:
    """The full ``DetectIntentResponse`` of one turn."""
    flow = f"{outcome.agent_path}/flows/{START_FLOW_ID}"
    result = types.QueryResult(
        language_code=outcome.language,
        response_messages=list(outcome.messages),
        current_page=_page(flow, outcome),
        current_flow=types.Flow(name=flow, display_name=outcome.flow_name),
        match=_match(outcome),
    )
    if outcome.parameters:
        result.parameters = dict(outcome.parameters)
    if outcome.text is not None:
        result.text = outcome.text
    else:
        result.trigger_event = outcome.event or ""
    if outcome.intent is not None:
        result.intent = _intent(outcome.agent_path, outcome.intent)
        result.intent_detection_confidence = outcome.confidence
    response_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{outcome.session}#{outcome.turn}")
    return types.DetectIntentResponse(response_id=str(response_id), query_result=result)


def _page(flow: str, outcome: CxOutcome) -> types.Page:
    if outcome.ended:
        return types.Page(name=f"{flow}/pages/END_SESSION", display_name="End Session")
    if outcome.page is None:
        return types.Page(name=f"{flow}/pages/START_PAGE", display_name="Start Page")
    return types.Page(name=f"{flow}/pages/{outcome.page.id}", display_name=outcome.page.display_name)


def _match(outcome: CxOutcome) -> types.Match:
    if outcome.match_type == MatchType.INTENT and outcome.intent is not None:
        match = types.Match(
            intent=_intent(outcome.agent_path, outcome.intent),
            resolved_input=outcome.text or "",
            match_type=outcome.match_type,
            confidence=outcome.confidence,
        )
        if outcome.intent_parameters:
            match.parameters = dict(outcome.intent_parameters)
        return match
    if outcome.match_type == MatchType.NO_MATCH:
        return types.Match(
            match_type=outcome.match_type, event=NO_MATCH_EVENT, resolved_input=outcome.text or ""
        )
    return types.Match(match_type=outcome.match_type, event=outcome.event or "")


def _intent(agent_path: str, intent: CxIntent) -> types.Intent:
    return types.Intent(name=f"{agent_path}/intents/{intent.id}", display_name=intent.display_name)


__all__ = ["START_FLOW_ID", "CxOutcome", "build_response"]
