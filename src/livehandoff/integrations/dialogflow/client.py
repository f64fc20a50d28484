"""Dialogflow ES detectIntent over REST on our own ``httpx.AsyncClient``.

Why REST and not the official ``SessionsAsyncClient``: the official async client speaks gRPC only and
its REST transport is synchronous. REST over httpx keeps one pooled, non-blocking HTTP stack for every
outbound call, works against the offline emulator with a plain ``http://`` endpoint, and we still build
and parse every body with the official ``google.cloud.dialogflow_v2.types`` so the JSON is exactly what
Google defines. Credentials come from ``google-auth``; their (blocking) refresh runs in a thread.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import httpx
import structlog
from google.auth.credentials import Credentials
from google.auth.transport.requests import Request
from google.cloud.dialogflow_v2.types import (
    DetectIntentRequest,
    DetectIntentResponse,
    EventInput,
    QueryInput,
    TextInput,
)
from google.protobuf import json_format

from livehandoff.domain.model import BotTurn
from livehandoff.errors import BotError, BotUnavailable
from livehandoff.integrations.dialogflow.translate import turn_from_query_result

log = structlog.get_logger("livehandoff.dialogflow")

SESSION_ID_LIMIT = 36


def session_path(project: str, session_id: str, *, location: str = "", environment: str = "") -> str:
    """The session resource name; regional agents need ``locations/<region>`` in it."""
    if len(session_id) > SESSION_ID_LIMIT:
        raise ValueError("Dialogflow session ids are at most 36 characters")
    path = f"projects/{project}"
    if location:
        path += f"/locations/{location}"
    path += "/agent"
    if environment:
        path += f"/environments/{environment}/users/-"
    return f"{path}/sessions/{session_id}"


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
        self._http = http
        self._endpoint = endpoint.rstrip("/")
        self._project_id = project_id
        self._location = location
        self._environment = environment
        self._credentials = credentials
        self._timeout = timeout
        self._refresh_lock = asyncio.Lock()

    async def detect_intent(self, *, session_id: str, text: str, language: str) -> BotTurn:
        request = DetectIntentRequest(
            query_input=QueryInput(text=TextInput(text=text, language_code=language))
        )
        result = await self._call(session_id, request)
        return turn_from_query_result(result.get("queryResult", {}))

    async def send_event(
        self, *, session_id: str, name: str, parameters: Mapping[str, Any], language: str
    ) -> BotTurn:
        event = EventInput(name=name, language_code=language, parameters=dict(parameters))
        result = await self._call(session_id, DetectIntentRequest(query_input=QueryInput(event=event)))
        return turn_from_query_result(result.get("queryResult", {}))

    async def _call(self, session_id: str, request: DetectIntentRequest) -> dict[str, Any]:
        path = session_path(
            self._project_id, session_id, location=self._location, environment=self._environment
        )
        body = DetectIntentRequest.to_json(
            request, use_integers_for_enums=False, always_print_fields_with_no_presence=False, indent=None
        )
        headers = {"content-type": "application/json", **(await self._auth_headers())}
        try:
            response = await self._http.post(
                f"{self._endpoint}/v2/{path}:detectIntent",
                content=body,
                headers=headers,
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise BotUnavailable(f"Dialogflow unreachable: {type(exc).__name__}") from exc
        return _parse(response)

    async def _auth_headers(self) -> dict[str, str]:
        credentials = self._credentials
        if credentials is None:
            return {}
        if not credentials.valid:
            async with self._refresh_lock:
                if not credentials.valid:
                    await asyncio.to_thread(credentials.refresh, Request())
        return {"authorization": f"Bearer {credentials.token}"}


def _parse(response: httpx.Response) -> dict[str, Any]:
    """Map a detectIntent answer to a plain camelCase dict, or to a typed error."""
    if response.status_code == 429 or response.status_code >= 500:
        raise BotUnavailable(f"Dialogflow answered {response.status_code}", status=response.status_code)
    if response.status_code != 200:
        raise BotError(
            f"Dialogflow refused the request: {_error_message(response)}", status=response.status_code
        )
    try:
        parsed = DetectIntentResponse.from_json(response.text, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError) as exc:
        raise BotError("Dialogflow sent a response that is not a DetectIntentResponse") from exc
    result: dict[str, Any] = json_format.MessageToDict(DetectIntentResponse.pb(parsed))
    return result


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except json.JSONDecodeError:
        return f"HTTP {response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("status") or response.status_code)
    return f"HTTP {response.status_code}"
