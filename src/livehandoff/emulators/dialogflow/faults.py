"""Faults on demand for the Dialogflow emulators (ES and CX): a bot that is slow, failing or hanging.

The configuration is one :class:`~livehandoff.emulators.faults.CallRule` for ``detectIntent`` with a
seed, as JSON (``DialogflowFaultConfig.from_dict``, ``load_dialogflow_faults``)::

    {"seed": 3, "error_rate": 0.1, "errors": ["unavailable"], "latency_ms": {"min": 100, "max": 800},
     "timeout_rate": 0.02, "hang_seconds": 20, "timeout_after_apply": false}

Errors are Google's ``{"error": {"code", "message", "status"}}`` body: ``internal`` (500 INTERNAL),
``unavailable`` (503 UNAVAILABLE), ``deadline_exceeded`` (504 DEADLINE_EXCEEDED) and
``resource_exhausted`` (429 RESOURCE_EXHAUSTED, Google's quota error; it carries no ``Retry-After``,
so there is no ``rate_limit_rate`` here); the default is ``internal`` and ``unavailable``. A hang
that outlives its client ends with 504 DEADLINE_EXCEEDED. Faults are decided before the session is
touched, so an injected error leaves contexts and parameters as they were — except a hang with
``timeout_after_apply``, which runs the turn first.

``GET``/``POST``/``DELETE /emulator/faults`` read, set and clear the configuration at run time.
They need no credentials: the Dialogflow emulators have no authentication at all (the bridge talks
to them with anonymous credentials).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from livehandoff.emulators.faults import (
    CallPlan,
    CallRule,
    FaultConfigError,
    FaultSwitch,
    Reader,
    Surface,
    load_json_file,
    read_rule,
    read_seed,
)

GOOGLE_ERRORS: Mapping[str, tuple[int, str, str]] = {
    "internal": (500, "INTERNAL", "Internal error encountered."),
    "unavailable": (503, "UNAVAILABLE", "The service is currently unavailable."),
    "deadline_exceeded": (504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
    "resource_exhausted": (429, "RESOURCE_EXHAUSTED", "Quota exceeded for detectIntent requests."),
}
SURFACE = Surface("dialogflow", frozenset(GOOGLE_ERRORS), ("internal", "unavailable"), rate_limits=False)


@dataclass(frozen=True, slots=True)
class DialogflowFaultConfig:
    """What may go wrong with ``detectIntent``; checked when built."""

    seed: int = 0
    detect_intent: CallRule = field(default_factory=CallRule)

    def __post_init__(self) -> None:
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise FaultConfigError(f"seed: must be an integer, not {self.seed!r}")
        SURFACE.check(self.detect_intent, "dialogflow")

    def to_dict(self) -> dict[str, Any]:
        """The flat JSON form; :meth:`from_dict` reads it back to an equal configuration."""
        return {"seed": self.seed, **self.detect_intent.to_dict(rate_limits=False)}

    @classmethod
    def from_dict(cls, data: object) -> DialogflowFaultConfig:
        """From JSON; a :class:`FaultConfigError` names the first field that is wrong."""
        top = Reader(data, "")
        rule = read_rule(
            Reader({key: value for key, value in top.data.items() if key != "seed"}, ""), SURFACE
        )
        return cls(seed=read_seed(top), detect_intent=rule)


def load_dialogflow_faults(path: str | Path) -> DialogflowFaultConfig:
    """A fault configuration from a JSON file (``livehandoff emulate dialogflow --faults FILE``)."""
    return DialogflowFaultConfig.from_dict(load_json_file(path))


class DialogflowFaults:
    """One emulator's faults at run time: wraps ``detectIntent`` and serves ``/emulator/faults``."""

    def __init__(self, config: DialogflowFaultConfig | None = None) -> None:
        self.switch: FaultSwitch[DialogflowFaultConfig] = FaultSwitch(config)

    @property
    def config(self) -> DialogflowFaultConfig | None:
        """The active configuration; ``None`` when no faults are injected."""
        return self.switch.config

    def configure(self, config: DialogflowFaultConfig | None) -> None:
        """Switch faults on (reseeding the random generator) or off; counters keep counting."""
        self.switch.configure(config)

    def snapshot(self) -> dict[str, Any]:
        """Configuration, counts by kind, requests hanging now."""
        return self.switch.snapshot()

    async def detect_intent(self, request: Request, apply: Callable[[], Awaitable[Response]]) -> Response:
        """One ``detectIntent``; ``apply`` parses the body and runs the turn."""
        config = self.switch.config
        if config is None:
            return await apply()
        plan = SURFACE.plan(config.detect_intent, self.switch.random)
        return await self.switch.run(request, "detect_intent", plan, apply, _reject)

    def routes(self) -> list[Route]:
        """The runtime switch, for the app's route list."""
        return [Route("/emulator/faults", self._endpoint, methods=["GET", "POST", "DELETE"])]

    async def _endpoint(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                config = DialogflowFaultConfig.from_dict(json.loads(await request.body() or b"{}"))
            except (ValueError, UnicodeDecodeError) as exc:
                return google_error(400, f"Invalid fault configuration: {exc}", "INVALID_ARGUMENT")
            self.configure(config)
        elif request.method == "DELETE":
            self.configure(None)
        return JSONResponse(self.snapshot())


def google_error(code: int, message: str, status: str) -> Response:
    """Google's JSON error body (the emulators' ``error_response`` has the same shape)."""
    body = {"error": {"code": code, "message": message, "status": status}}
    return Response(json.dumps(body), status_code=code, media_type="application/json; charset=UTF-8")


def _reject(plan: CallPlan) -> Response:
    name = "deadline_exceeded" if plan.outcome == "timeout" else plan.error or "internal"
    code, status, message = GOOGLE_ERRORS[name]
    return google_error(code, message, status)
