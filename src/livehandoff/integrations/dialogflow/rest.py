"""The HTTP plumbing both Dialogflow editions share: Google auth, one POST, one error mapping.

ES (``/v2``) and CX (``/v3``) differ in paths and message types but not in how a call fails, so the
mapping from an HTTP outcome to our error tree lives here once:

* a transport failure or timeout, 429 and 5xx are ``BotUnavailable`` (worth retrying later);
* any other non-200 is ``BotError`` carrying Google's ``error.message`` when the body has one;
* a 200 whose body does not parse as the expected response type is ``BotError``.

Responses are parsed with ``ignore_unknown_fields=True`` because Google adds fields over time and the
reference warns about undocumented ones; a field we know with a wrong type still fails.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from google.auth.credentials import Credentials
from google.auth.transport.requests import Request
from google.protobuf import json_format

from livehandoff.errors import BotError, BotUnavailable


def request_json(message: Any) -> str:
    """A request body the way Google's docs show it: camelCase, string enums, no default values."""
    text: str = type(message).to_json(
        message, use_integers_for_enums=False, always_print_fields_with_no_presence=False, indent=None
    )
    return text


class DialogflowRest:
    """POSTs official request types to one Dialogflow endpoint and parses the official response type.

    The credentials' refresh is blocking (``google-auth`` uses ``requests``), so it runs in a worker
    thread, once at a time: concurrent calls that find the token expired wait for the same refresh.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        endpoint: str,
        credentials: Credentials | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._http = http
        self.endpoint = endpoint.rstrip("/")
        self._credentials = credentials
        self._timeout = timeout
        self._refresh_lock = asyncio.Lock()

    async def call(self, path: str, request: Any, response_type: Any) -> dict[str, Any]:
        """POST ``request`` to ``{endpoint}/{path}``; the answer as a camelCase dict, or a ``BotError``."""
        headers = {"content-type": "application/json", **(await self._auth_headers())}
        try:
            response = await self._http.post(
                f"{self.endpoint}/{path}",
                content=request_json(request),
                headers=headers,
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise BotUnavailable(f"Dialogflow unreachable: {type(exc).__name__}") from exc
        return parse_response(response, response_type)

    async def _auth_headers(self) -> dict[str, str]:
        credentials = self._credentials
        if credentials is None:
            return {}
        if not credentials.valid:
            async with self._refresh_lock:
                if not credentials.valid:
                    await asyncio.to_thread(credentials.refresh, Request())
        return {"authorization": f"Bearer {credentials.token}"}


def parse_response(response: httpx.Response, response_type: Any) -> dict[str, Any]:
    """Map an HTTP answer to a plain camelCase dict of ``response_type``, or to a typed error."""
    if response.status_code == 429 or response.status_code >= 500:
        raise BotUnavailable(f"Dialogflow answered {response.status_code}", status=response.status_code)
    if response.status_code != 200:
        raise BotError(
            f"Dialogflow refused the request: {error_message(response)}", status=response.status_code
        )
    try:
        parsed = response_type.from_json(response.text, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError) as exc:
        name = getattr(response_type, "__name__", "the expected response")
        raise BotError(f"Dialogflow sent a response that is not a {name}") from exc
    result: dict[str, Any] = json_format.MessageToDict(response_type.pb(parsed))
    return result


def error_message(response: httpx.Response) -> str:
    """Google's ``error.message`` (or ``error.status``), else the bare HTTP status."""
    try:
        body = response.json()
    except json.JSONDecodeError:
        return f"HTTP {response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("status") or response.status_code)
    return f"HTTP {response.status_code}"


__all__ = ["DialogflowRest", "error_message", "parse_response", "request_json"]
