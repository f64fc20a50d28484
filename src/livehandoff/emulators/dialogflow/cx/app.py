"""The CX emulator's HTTP edge: Dialogflow CX v3 ``detectIntent`` over REST.

Routes (the ``uri`` patterns of the official REST transport), both ``POST``:

* ``/v3/projects/{p}/locations/{l}/agents/{a}/sessions/{s}:detectIntent``
* ``/v3/projects/{p}/locations/{l}/agents/{a}/environments/{e}/sessions/{s}:detectIntent``

Any project, location and agent id serve the one loaded agent. Bodies are parsed with the official
``DetectIntentRequest`` and unknown fields are refused, as Google's parser does. Answers are
serialised with the official ``to_json`` without default values; integer enums only when the caller
asks for them (the official REST client sends ``$alt=json;enum-encoding=int``). Errors use Google's
``{"error": {"code", "message", "status"}}`` body.

``faults`` makes the bot slow, failing or hanging as in the ES emulator (:mod:`..faults`), with the
same ``/emulator/faults`` switch.

No lifespan and no background tasks, so the app also works under ``httpx.ASGITransport``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from google.cloud.dialogflowcx_v3 import types
from google.protobuf.json_format import ParseError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from livehandoff.emulators.dialogflow.app import error_response
from livehandoff.emulators.dialogflow.cx.engine import SESSION_PATTERN, CxEmulator
from livehandoff.emulators.dialogflow.cx.model import CxAgent
from livehandoff.emulators.dialogflow.engine import DetectIntentError
from livehandoff.emulators.dialogflow.faults import DialogflowFaultConfig, DialogflowFaults

_DETECT_INTENT = re.compile(f"^(?P<session>{SESSION_PATTERN}):detectIntent$")
_STATUS_BY_CODE = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 405: "UNIMPLEMENTED"}


def create_cx_app(
    agent: CxAgent,
    *,
    clock: Callable[[], float] = time.monotonic,
    faults: DialogflowFaultConfig | None = None,
) -> Starlette:
    """A Starlette app serving ``agent``; ``clock`` drives session expiry (tests move it).

    ``app.state.faults`` is the fault switch, on from the start when ``faults`` is given.
    """
    emulator = CxEmulator(agent, clock=clock)
    injector = DialogflowFaults(faults)

    async def detect_intent(request: Request) -> Response:
        found = _DETECT_INTENT.match(request.path_params["path"])
        if found is None:
            return error_response(404, f"Method not found: {request.url.path}", "NOT_FOUND")
        session = found.group("session")
        return await injector.detect_intent(request, lambda: answer(request, session))

    async def answer(request: Request, session: str) -> Response:
        body = await request.body()
        try:
            parsed = types.DetectIntentRequest.from_json(body.decode("utf-8") or "{}")
            response = emulator.detect_intent(session, parsed)
        except (ParseError, UnicodeDecodeError) as exc:
            return error_response(400, f"Invalid JSON payload received. {exc}", "INVALID_ARGUMENT")
        except DetectIntentError as exc:
            return error_response(exc.code, exc.message, exc.status)
        integers = "enum-encoding=int" in request.query_params.get("$alt", "")
        text = types.DetectIntentResponse.to_json(
            response, use_integers_for_enums=integers, always_print_fields_with_no_presence=False, indent=None
        )
        return Response(text, media_type="application/json; charset=UTF-8")

    app = Starlette(
        routes=[Route("/v3/{path:path}", detect_intent, methods=["POST"]), *injector.routes()],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.emulator = emulator
    app.state.faults = injector
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    return error_response(
        code, f"{request.method} {request.url.path}: {exc}", _STATUS_BY_CODE.get(code, "UNKNOWN")
    )


__all__ = ["create_cx_app"]
