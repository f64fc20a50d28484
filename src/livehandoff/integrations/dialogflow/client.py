"""Dialogflow ES detectIntent over REST on our own ``httpx.AsyncClient``.

Why REST and not the official ``SessionsAsyncClient``: the official async client speaks gRPC only and
its REST transport is synchronous. REST over httpx keeps one pooled, non-blocking HTTP stack for every
outbound call, works against the offline emulator with a plain ``http://`` endpoint, and we still build
and parse every body with the official ``google.cloud.dialogflow_v2.types`` so the JSON is exactly what
Google defines. Credentials come from ``google-auth``; their (blocking) refresh runs in a thread. The
HTTP, auth and error plumbing is shared with the CX adapter (``rest.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from google.auth.credentials import Credentials
from google.cloud.dialogflow_v2.types import (
    Context,
    DetectIntentRequest,
    DetectIntentResponse,
    EventInput,
    QueryInput,
    QueryParameters,
    TextInput,
)

from livehandoff.domain.model import BotTurn
from livehandoff.integrations.dialogflow.rest import DialogflowRest
from livehandoff.integrations.dialogflow.translate import turn_from_query_result

SESSION_ID_LIMIT = 36


def session_path(project: str, session_id: str, *, location: str = "", environment: str = "") -> str:
    """The session resource name; regional agents need ``locations/<region>`` in it.

    A full session name (``projects/…/sessions/…``, as fulfillment webhooks report it) is used as it is:
    that conversation lives in Dialogflow's own session.
    """
    if session_id.startswith("projects/"):
        return session_id
    check_session_id(session_id)
    path = f"projects/{project}"
    if location:
        path += f"/locations/{location}"
    path += "/agent"
    if environment:
        path += f"/environments/{environment}/users/-"
    return f"{path}/sessions/{session_id}"


def check_session_id(session_id: str) -> None:
    """Both editions refuse longer session ids; failing here names the cause instead of a 400."""
    if len(session_id) > SESSION_ID_LIMIT:
        raise ValueError("Dialogflow session ids are at most 36 characters")


class DialogflowES:
    """The ``BotEngine`` for a Dialogflow ES agent."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        endpoint: str,
        project_id: str,
        location: str = "",
        environment: str = "",
        credentials: Credentials | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._rest = DialogflowRest(http, endpoint=endpoint, credentials=credentials, timeout=timeout)
        self._project_id = project_id
        self._location = location
        self._environment = environment

    async def detect_intent(self, *, session_id: str, text: str, language: str) -> BotTurn:
        request = DetectIntentRequest(
            query_input=QueryInput(text=TextInput(text=text, language_code=language))
        )
        result = await self._call(session_id, request)
        return turn_from_query_result(result.get("queryResult", {}))

    async def send_event(
        self,
        *,
        session_id: str,
        name: str,
        parameters: Mapping[str, Any],
        language: str,
        memory: Mapping[str, Any] | None = None,
    ) -> BotTurn:
        """``memory`` (a ``BotTurn.memory``) re-activates the contexts the session had then."""
        event = EventInput(name=name, language_code=language, parameters=dict(parameters))
        request = DetectIntentRequest(query_input=QueryInput(event=event))
        contexts = _contexts(memory)
        if contexts:
            request.query_params = QueryParameters(contexts=contexts)
        result = await self._call(session_id, request)
        return turn_from_query_result(result.get("queryResult", {}))

    async def _call(self, session_id: str, request: DetectIntentRequest) -> dict[str, Any]:
        path = session_path(
            self._project_id, session_id, location=self._location, environment=self._environment
        )
        return await self._rest.call(f"v2/{path}:detectIntent", request, DetectIntentResponse)


def _contexts(memory: Mapping[str, Any] | None) -> list[Context]:
    """The contexts kept in a ``BotTurn.memory`` (``translate.es_memory``) as request contexts."""
    found = (memory or {}).get("contexts")
    if not isinstance(found, list):
        return []
    return [
        Context(
            name=str(item["name"]),
            lifespan_count=int(item.get("lifespanCount") or 0),
            parameters=dict(item.get("parameters") or {}),
        )
        for item in found
        if isinstance(item, Mapping) and item.get("name")
    ]
