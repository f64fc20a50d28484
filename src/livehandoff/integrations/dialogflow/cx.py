"""Dialogflow CX detectIntent over REST on our own ``httpx.AsyncClient``.

Built like the ES adapter (``client.py``, same reasons for REST): bodies are the official
``google.cloud.dialogflowcx_v3.types`` serialised to JSON, the HTTP/auth/error plumbing is
``rest.py``. What is particular to CX (reference ``dialogflow.md`` §3.6):

* every agent lives in a location, ``global`` unless configured, and the session path always names
  it: ``projects/<P>/locations/<L>/agents/<A>[/environments/<E>]/sessions/<S>``;
* a regional agent must be called on its regional host (``<L>-dialogflow.googleapis.com``); the
  global host answers ``INVALID_ARGUMENT`` for it (``cx_endpoint``);
* ``languageCode`` sits on ``queryInput``, not in the text or event;
* an event carries only its name: its parameters are sent as session parameters
  (``queryParams.parameters``), which is where CX fulfillments read them (``$session.params.x``);
* a session's memory is its session parameters, so restoring it (``send_event(memory=...)`` after a
  long agent chat outlived the session) is sending them again the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from google.auth.credentials import Credentials
from google.cloud.dialogflowcx_v3.types import (
    DetectIntentRequest,
    DetectIntentResponse,
    EventInput,
    QueryInput,
    QueryParameters,
    TextInput,
)

from livehandoff.domain.model import BotTurn
from livehandoff.integrations.dialogflow.client import check_session_id
from livehandoff.integrations.dialogflow.rest import DialogflowRest
from livehandoff.integrations.dialogflow.translate_cx import remembered_parameters, turn_from_cx_query_result

GLOBAL_LOCATION = "global"
GOOGLE_GLOBAL_ENDPOINT = "https://dialogflow.googleapis.com"


def cx_endpoint(location: str, configured: str = "") -> str:
    """The host for a CX agent in ``location``.

    An explicitly configured endpoint (the emulator, a proxy, a private endpoint) wins. Google's global
    host counts as "not configured" because it is the settings' default and can never serve a
    regional agent, so a regional agent works by setting only its location.
    """
    configured = configured.rstrip("/")
    if configured and configured != GOOGLE_GLOBAL_ENDPOINT:
        return configured
    location = location or GLOBAL_LOCATION
    if location == GLOBAL_LOCATION:
        return GOOGLE_GLOBAL_ENDPOINT
    return f"https://{location}-dialogflow.googleapis.com"


def cx_session_path(
    project: str, location: str, agent_id: str, session_id: str, *, environment: str = ""
) -> str:
    """The CX session resource name (the draft agent when no environment is given); a full session name
    (from a fulfillment webhook) is used as it is."""
    if session_id.startswith("projects/"):
        return session_id
    check_session_id(session_id)
    path = f"projects/{project}/locations/{location or GLOBAL_LOCATION}/agents/{agent_id}"
    if environment:
        path += f"/environments/{environment}"
    return f"{path}/sessions/{session_id}"


class DialogflowCX:
    """The ``BotEngine`` for a Dialogflow CX agent."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        project_id: str,
        agent_id: str,
        location: str = GLOBAL_LOCATION,
        environment: str = "",
        endpoint: str = "",
        credentials: Credentials | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not agent_id:
            raise ValueError("a Dialogflow CX agent id is required")
        self._location = location or GLOBAL_LOCATION
        self._rest = DialogflowRest(
            http, endpoint=cx_endpoint(self._location, endpoint), credentials=credentials, timeout=timeout
        )
        self._project_id = project_id
        self._agent_id = agent_id
        self._environment = environment

    @property
    def endpoint(self) -> str:
        """The host actually called (after the regional default), e.g. for choosing credentials."""
        return self._rest.endpoint

    async def detect_intent(self, *, session_id: str, text: str, language: str) -> BotTurn:
        query = QueryInput(text=TextInput(text=text), language_code=language)
        return await self._call(session_id, DetectIntentRequest(query_input=query))

    async def send_event(
        self,
        *,
        session_id: str,
        name: str,
        parameters: Mapping[str, Any],
        language: str,
        memory: Mapping[str, Any] | None = None,
    ) -> BotTurn:
        """The event's parameters become session parameters, over those restored from ``memory``."""
        request = DetectIntentRequest(
            query_input=QueryInput(event=EventInput(event=name), language_code=language)
        )
        session_parameters = {**remembered_parameters(memory), **parameters}
        if session_parameters:
            request.query_params = QueryParameters(parameters=session_parameters)
        return await self._call(session_id, request)

    async def _call(self, session_id: str, request: DetectIntentRequest) -> BotTurn:
        path = cx_session_path(
            self._project_id, self._location, self._agent_id, session_id, environment=self._environment
        )
        result = await self._rest.call(f"v3/{path}:detectIntent", request, DetectIntentResponse)
        return turn_from_cx_query_result(result.get("queryResult", {}))


__all__ = ["GLOBAL_LOCATION", "DialogflowCX", "cx_endpoint", "cx_session_path"]
