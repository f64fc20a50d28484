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

import time
from collections.abc import Callable

from google.cloud.dialogflowcx_v3 import types
from starlette.applications import Starlette

from livehandoff.emulators.dialogflow.app import detect_intent_app
from livehandoff.emulators.dialogflow.cx.engine import SESSION_PATTERN, CxEmulator
from livehandoff.emulators.dialogflow.cx.model import CxAgent
from livehandoff.emulators.dialogflow.faults import DialogflowFaultConfig, DialogflowFaults

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
    return detect_intent_app("/v3", SESSION_PATTERN, types, emulator, DialogflowFaults(faults))
