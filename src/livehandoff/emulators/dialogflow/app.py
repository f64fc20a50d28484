"""The emulator's HTTP edge: Dialogflow ES v2 ``detectIntent`` over REST.

Routes (``dialogflow.md`` §2.1), all ``POST``:

* ``/v2/projects/{p}/agent/sessions/{s}:detectIntent``
* ``/v2/projects/{p}/agent/environments/{e}/users/{u}/sessions/{s}:detectIntent``
* the same two with ``locations/{l}/`` after the project.

Bodies are parsed with the official ``DetectIntentRequest`` type and unknown fields are refused, as
Google's JSON parser does. Answers are serialised with the official ``to_json``; when the caller asks
for integer enums (the REST client sends ``$alt=json;enum-encoding=int``) it gets them. Errors use
Google's JSON error shape ``{"error": {"code", "message", "status"}}``.

``faults`` (:mod:`.faults`) makes the bot slow, failing or hanging; ``GET``/``POST``/``DELETE
/emulator/faults`` change that at run time, without credentials like everything else here.

The app has no lifespan and no background tasks, so it also works under ``httpx.ASGITransport``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, Protocol

from google.cloud.dialogflow_v2 import types
from google.protobuf.json_format import ParseError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from livehandoff.emulators.dialogflow.engine import SESSION_PATTERN, DetectIntentError, Emulator
from livehandoff.emulators.dialogflow.faults import DialogflowFaultConfig, DialogflowFaults, google_error
from livehandoff.emulators.dialogflow.model import Agent

_STATUS_BY_CODE = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 405: "UNIMPLEMENTED"}


def create_app(
    agent: Agent,
    *,
    threshold: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    faults: DialogflowFaultConfig | None = None,
) -> Starlette:
    """A Starlette app serving ``agent``; ``threshold`` overrides the agent's ``mlMinConfidence``.

    ``app.state.faults`` is the fault switch (:class:`.faults.DialogflowFaults`), on from the start
    when ``faults`` is given.
    """
    emulator = Emulator(agent, threshold=threshold, clock=clock)
    return detect_intent_app("/v2", SESSION_PATTERN, types, emulator, DialogflowFaults(faults))


class SessionEmulator(Protocol):
    """What both editions' engines offer the HTTP edge."""

    def detect_intent(self, session: str, request: Any) -> Any: ...


def detect_intent_app(
    prefix: str,
    session_pattern: str,
    types_module: Any,
    emulator: SessionEmulator,
    injector: DialogflowFaults,
) -> Starlette:
    """The HTTP edge shared by the ES (v2) and CX (v3) emulators: route, parse with the edition's
    official types, answer or refuse in Google's shapes, with faults on demand."""
    pattern = re.compile(f"^(?P<session>{session_pattern}):detectIntent$")

    async def detect_intent(request: Request) -> Response:
        found = pattern.match(request.path_params["path"])
        if found is None:
            return error_response(404, f"Method not found: {request.url.path}", "NOT_FOUND")
        session = found.group("session")
        return await injector.detect_intent(request, lambda: answer(request, session))

    async def answer(request: Request, session: str) -> Response:
        body = await request.body()
        try:
            parsed = types_module.DetectIntentRequest.from_json(body.decode("utf-8") or "{}")
            response = emulator.detect_intent(session, parsed)
        except (ParseError, UnicodeDecodeError) as exc:
            return error_response(400, f"Invalid JSON payload received. {exc}", "INVALID_ARGUMENT")
        except DetectIntentError as exc:
            return error_response(exc.code, exc.message, exc.status)
        integers = "enum-encoding=int" in request.query_params.get("$alt", "")
        text = types_module.DetectIntentResponse.to_json(
            response, use_integers_for_enums=integers, always_print_fields_with_no_presence=False, indent=None
        )
        return Response(text, media_type="application/json; charset=UTF-8")

    app = Starlette(
        routes=[Route(f"{prefix}/{{path:path}}", detect_intent, methods=["POST"]), *injector.routes()],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.emulator = emulator
    app.state.faults = injector
    return app


def error_response(code: int, message: str, status: str) -> Response:
    """Google's JSON error body."""
    return google_error(code, message, status)


async def _http_error(request: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    return error_response(
        code, f"{request.method} {request.url.path}: {exc}", _STATUS_BY_CODE.get(code, "UNKNOWN")
    )
