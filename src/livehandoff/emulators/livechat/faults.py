"""Faults on demand for the LiveChat emulator: failing, slow, rate-limited and hanging requests, and
webhooks that come twice, late, out of order or only on a retry.

The configuration, as JSON (``FaultConfig.from_dict``, ``load_faults``) or the same as objects::

    {"seed": 7,
     "api": {"default": RULE, "methods": {"send_event": RULE, "start_chat": RULE}},   Customer Chat API
     "agent_api": {...}, "configuration_api": {...},                                    the same shape
     "accounts": RULE,                                           POST /v2/token and /v2/customer/token
     "webhooks": {"duplicate_rate": 0.1, "reorder_rate": 0.1, "reorder_hold_ms": 1000,
                  "delay_ms": {"min": 0, "max": 500}, "drop_rate": 0.05, "drop_attempts": 1}}

``RULE`` is a :class:`~livehandoff.emulators.faults.CallRule` (``error_rate``, ``errors``,
``rate_limit_rate``, ``retry_after``, ``latency_ms``, ``timeout_rate``, ``hang_seconds``,
``timeout_after_apply``). In JSON a method's rule is merged over ``default`` key by key; as objects a
method's ``CallRule`` replaces the default whole (``dataclasses.replace(default, ...)`` derives one).

Only what the bridge uses while conversations run fails by default — the Customer Chat API, the
accounts service and webhooks. The Agent Chat API stands in for the human agent in tests and in the
console, and the Configuration API is called once at start-up, so they stay reliable unless their
section is given.

What the client sees: API faults answer LiveChat's error body with the status of :mod:`.errors`
(any of its error types may be listed; the default is ``internal`` 500 and ``service_unavailable``
503); a rate limit is ``429 too_many_requests`` with ``Retry-After``; a hang that outlives its
client's patience ends with ``408 request_timeout``. The accounts service answers its own body:
``server_error`` 500, ``temporarily_unavailable`` 503, ``too_many_requests`` 429, ``request_timeout``
408. Faults are decided before the request is applied, so an injected error changes nothing — except
a hang with ``timeout_after_apply``, which applies the request first.

Webhooks: each delivery draws, in this order, ``duplicate_rate`` (sent once more after it was
delivered), ``reorder_rate`` (held back until a later delivery of the same chat to the same URL has
been sent, at most ``reorder_hold_ms``), ``delay_ms`` (a wait before the first attempt) and
``drop_rate`` (the first ``drop_attempts`` attempts are lost, so the normal retries deliver it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from livehandoff.emulators.faults import (
    CallPlan,
    CallRule,
    FaultConfigError,
    FaultSwitch,
    Latency,
    Reader,
    Surface,
    check_rate,
    is_number,
    load_json_file,
    read_rule,
    read_seed,
)
from livehandoff.emulators.livechat import agent_api, configuration_api, customer_api
from livehandoff.emulators.livechat.auth import authenticate_agent
from livehandoff.emulators.livechat.errors import (
    STATUS_BY_TYPE,
    ApiError,
    OAuthError,
    authentication_error,
    validation_error,
)
from livehandoff.emulators.livechat.model import Webhook
from livehandoff.emulators.livechat.notify import Notification
from livehandoff.emulators.livechat.payload import read_json_object
from livehandoff.emulators.livechat.services import Services
from livehandoff.emulators.livechat.webhooks import DeliveryPlan

OAUTH_FAULT_STATUS: Mapping[str, int] = {"server_error": 500, "temporarily_unavailable": 503}
API_SURFACE = Surface("api", frozenset(STATUS_BY_TYPE), ("internal", "service_unavailable"))
ACCOUNTS_SURFACE = Surface(
    "accounts", frozenset(OAUTH_FAULT_STATUS), ("server_error", "temporarily_unavailable")
)
SECTION_OF_API: Mapping[str, str] = {
    "customer": "api",
    "agent": "agent_api",
    "configuration": "configuration_api",
}
_METHODS: Mapping[str, frozenset[str]] = {
    "api": frozenset(customer_api.ACTIONS),
    "agent_api": frozenset(agent_api.ACTIONS),
    "configuration_api": frozenset(configuration_api.ACTIONS),
}
_API_MESSAGES = {
    "internal": "Internal server error",
    "service_unavailable": "Service temporarily unavailable",
}


@dataclass(frozen=True, slots=True)
class ApiFaults:
    """The rules of one API: ``default`` for every method, ``methods`` for the ones that differ."""

    default: CallRule = field(default_factory=CallRule)
    methods: Mapping[str, CallRule] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", MappingProxyType(dict(self.methods)))

    def rule(self, method: str) -> CallRule:
        """The rule one method follows."""
        return self.methods.get(method, self.default)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; methods in full, so reading it back gives the same rules."""
        return {
            "default": self.default.to_dict(),
            "methods": {name: rule.to_dict() for name, rule in sorted(self.methods.items())},
        }

    @classmethod
    def read(cls, reader: Reader) -> ApiFaults:
        """From JSON: each method's keys merged over ``default``."""
        reader.only(("default", "methods"))
        default_reader = reader.object("default")
        default = read_rule(default_reader, API_SURFACE)
        methods_reader = reader.object("methods")
        methods = {}
        for name in methods_reader.data:
            override = methods_reader.object(name)
            merged = Reader({**default_reader.data, **override.data}, override.path)
            methods[name] = read_rule(merged, API_SURFACE)
        return cls(default, methods)


@dataclass(frozen=True, slots=True)
class WebhookFaults:
    """How deliveries misbehave (module docstring); the rates are independent of each other."""

    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    reorder_hold_ms: float = 1000.0
    delay: Latency | None = None
    drop_rate: float = 0.0
    drop_attempts: int = 1

    def __post_init__(self) -> None:
        for name in ("duplicate_rate", "reorder_rate", "drop_rate"):
            check_rate(f"webhooks.{name}", getattr(self, name))
        if not is_number(self.reorder_hold_ms) or self.reorder_hold_ms <= 0:
            raise FaultConfigError(
                f"webhooks.reorder_hold_ms: must be a number > 0, not {self.reorder_hold_ms!r}"
            )
        attempts = self.drop_attempts
        if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
            raise FaultConfigError(f"webhooks.drop_attempts: must be an integer >= 1, not {attempts!r}")

    @property
    def quiet(self) -> bool:
        """Nothing to draw: deliveries go as they would without faults."""
        return not (self.duplicate_rate or self.reorder_rate or self.delay or self.drop_rate)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "duplicate_rate": self.duplicate_rate,
            "reorder_rate": self.reorder_rate,
            "reorder_hold_ms": self.reorder_hold_ms,
            "delay_ms": self.delay.to_dict() if self.delay else None,
            "drop_rate": self.drop_rate,
            "drop_attempts": self.drop_attempts,
        }

    @classmethod
    def read(cls, reader: Reader) -> WebhookFaults:
        """From JSON."""
        reader.only(cls().to_dict())
        return cls(
            duplicate_rate=reader.number("duplicate_rate", 0.0),
            reorder_rate=reader.number("reorder_rate", 0.0),
            reorder_hold_ms=reader.number("reorder_hold_ms", 1000.0),
            delay=reader.latency("delay_ms"),
            drop_rate=reader.number("drop_rate", 0.0),
            drop_attempts=reader.integer("drop_attempts", 1),
        )


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Everything that may go wrong in one emulator (module docstring); checked when built."""

    seed: int = 0
    api: ApiFaults = field(default_factory=ApiFaults)
    agent_api: ApiFaults = field(default_factory=ApiFaults)
    configuration_api: ApiFaults = field(default_factory=ApiFaults)
    accounts: CallRule = field(default_factory=CallRule)
    webhooks: WebhookFaults = field(default_factory=WebhookFaults)

    def __post_init__(self) -> None:
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise FaultConfigError(f"seed: must be an integer, not {self.seed!r}")
        for section, known in _METHODS.items():
            faults: ApiFaults = getattr(self, section)
            unknown = sorted(set(faults.methods) - known)
            if unknown:
                raise FaultConfigError(
                    f"{section}.methods: unknown methods {unknown}; known: {sorted(known)}"
                )
            API_SURFACE.check(faults.default, f"{section}.default")
            for name, rule in faults.methods.items():
                API_SURFACE.check(rule, f"{section}.methods.{name}")
        ACCOUNTS_SURFACE.check(self.accounts, "accounts")

    def api_faults(self, api: str) -> ApiFaults:
        """The section of ``customer``, ``agent`` or ``configuration``."""
        section: ApiFaults = getattr(self, SECTION_OF_API[api])
        return section

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; :meth:`from_dict` reads it back to an equal configuration."""
        return {
            "seed": self.seed,
            **{section: self.api_faults(api).to_dict() for api, section in SECTION_OF_API.items()},
            "accounts": self.accounts.to_dict(),
            "webhooks": self.webhooks.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: object) -> FaultConfig:
        """From JSON; a :class:`FaultConfigError` names the first field that is wrong."""
        top = Reader(data, "")
        top.only(("seed", *_METHODS, "accounts", "webhooks"))
        return cls(
            seed=read_seed(top),
            api=ApiFaults.read(top.object("api")),
            agent_api=ApiFaults.read(top.object("agent_api")),
            configuration_api=ApiFaults.read(top.object("configuration_api")),
            accounts=read_rule(top.object("accounts"), ACCOUNTS_SURFACE),
            webhooks=WebhookFaults.read(top.object("webhooks")),
        )


def load_faults(path: str | Path) -> FaultConfig:
    """A fault configuration from a JSON file (``livehandoff emulate livechat --faults FILE``)."""
    return FaultConfig.from_dict(load_json_file(path))


class FaultInjector:
    """The emulator's faults at run time: every API and accounts request, every webhook delivery.

    It exists even without a configuration, so faults can be switched on later
    (``POST /emulator/faults``) and deliveries always know their order within a chat.
    """

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.switch: FaultSwitch[FaultConfig] = FaultSwitch(config)
        self._sequence = 0
        self._last_sent: dict[tuple[str, str], int] = {}
        self._held: dict[tuple[str, str], dict[int, asyncio.Event]] = {}

    @property
    def config(self) -> FaultConfig | None:
        """The active configuration; ``None`` when no faults are injected."""
        return self.switch.config

    def configure(self, config: FaultConfig | None) -> None:
        """Switch faults on (reseeding the random generator) or off; counters keep counting."""
        self.switch.configure(config)

    def snapshot(self) -> dict[str, Any]:
        """Configuration, counts by kind and by target, requests hanging now."""
        return self.switch.snapshot()

    async def api_call(
        self, request: Request, api: str, method: str, apply: Callable[[], Awaitable[Response]]
    ) -> Response:
        """One Chat or Configuration API request; ``apply`` authenticates, reads and runs the method."""
        config = self.switch.config
        if config is None:
            return await apply()
        plan = API_SURFACE.plan(config.api_faults(api).rule(method), self.switch.random)
        target = f"{api}.{method}"
        return await self.switch.run(request, target, plan, apply, _api_reject, answered=(ApiError,))

    async def accounts_call(
        self, request: Request, endpoint: str, apply: Callable[[], Awaitable[Response]]
    ) -> Response:
        """One token request of the accounts service."""
        config = self.switch.config
        if config is None:
            return await apply()
        plan = ACCOUNTS_SURFACE.plan(config.accounts, self.switch.random)
        target = f"accounts.{endpoint}"
        return await self.switch.run(request, target, plan, apply, _accounts_reject, answered=(OAuthError,))

    def plan_delivery(self, webhook: Webhook, note: Notification) -> DeliveryPlan:
        """Drawn when the change happens, so the sequence follows the order of changes."""
        self._sequence += 1
        key = (webhook.url, note.chat.id if note.chat is not None else "")
        config = self.switch.config
        if config is None or config.webhooks.quiet:
            return DeliveryPlan(key, self._sequence)
        rules, rng = config.webhooks, self.switch.random
        duplicate = rules.duplicate_rate > 0 and rng.random() < rules.duplicate_rate
        held = rules.reorder_rate > 0 and rng.random() < rules.reorder_rate
        delay = rules.delay.draw(rng) if rules.delay else 0.0
        dropped = rules.drop_rate > 0 and rng.random() < rules.drop_rate
        target = f"webhooks.{note.action}"
        drawn = {"duplicate": duplicate, "reorder": held, "delay": rules.delay is not None, "drop": dropped}
        for kind in (kind for kind, happened in drawn.items() if happened):
            self.switch.record(f"webhook_{kind}", target)
        return DeliveryPlan(
            key,
            self._sequence,
            delay=delay,
            hold=rules.reorder_hold_ms / 1000 if held else 0.0,
            drops=rules.drop_attempts if dropped else 0,
            duplicate=duplicate,
        )

    async def wait_overtaken(self, plan: DeliveryPlan) -> None:
        """Hold a delivery until a later one of its chat and URL was sent, or ``plan.hold`` passed."""
        if self._last_sent.get(plan.order_key, 0) > plan.sequence:
            return
        waiting = self._held.setdefault(plan.order_key, {})
        event = waiting[plan.sequence] = asyncio.Event()
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(plan.hold):
                    await event.wait()
        finally:
            waiting.pop(plan.sequence, None)
            if not waiting:
                self._held.pop(plan.order_key, None)

    def sent(self, plan: DeliveryPlan) -> None:
        """Release the deliveries of the same chat and URL held back before this one was planned."""
        key = plan.order_key
        self._last_sent[key] = max(self._last_sent.get(key, 0), plan.sequence)
        for sequence, event in self._held.get(key, {}).items():
            if sequence < plan.sequence:
                event.set()


def _api_reject(plan: CallPlan) -> Response:
    if plan.outcome == "rate_limit":
        error = ApiError("too_many_requests", "Too many requests", retry_after=plan.rule.retry_after)
    elif plan.outcome == "timeout":
        error = ApiError("request_timeout", "The request timed out")
    else:
        error_type = plan.error or "internal"
        error = ApiError(error_type, _API_MESSAGES.get(error_type, error_type.replace("_", " ").capitalize()))
    return error.response()


def _accounts_reject(plan: CallPlan) -> Response:
    if plan.outcome == "rate_limit":
        response = OAuthError("too_many_requests", "too many requests", status=429).response()
        response.headers["Retry-After"] = str(plan.rule.retry_after)
        return response
    if plan.outcome == "timeout":
        return OAuthError("request_timeout", "the request timed out", status=408).response()
    code = plan.error or "server_error"
    return OAuthError(code, code.replace("_", " "), status=OAUTH_FAULT_STATUS[code]).response()


async def endpoint(request: Request, services: Services, faults: FaultInjector) -> Response:
    """``GET``/``POST``/``DELETE /emulator/faults``, for a chaos runner switching faults around phases.

    Any seeded agent's PAT with Basic auth opens it — the emulator's own admin credential; an OAuth
    token does not, so a bridge configured with the emulator's app cannot change its own weather.
    """
    principal = authenticate_agent(services.state, request.headers.get("authorization"))
    if principal.via != "pat":
        raise authentication_error()
    if request.method == "POST":
        try:
            config = FaultConfig.from_dict(await read_json_object(request))
        except FaultConfigError as exc:
            raise validation_error(str(exc)) from exc
        faults.configure(config)
    elif request.method == "DELETE":
        faults.configure(None)
    return JSONResponse(faults.snapshot())
