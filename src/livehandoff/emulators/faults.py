"""Faults on demand, shared by the emulators: what may go wrong with one request, drawn at random.

A chaos run is only worth repeating when the same configuration gives the same faults in the same
order, so every decision of an emulator comes from one ``random.Random`` seeded from its
configuration (:class:`FaultSwitch`), drawn in the order requests arrive, and only when a rate is
above zero — an emulator without faults draws nothing.

One request's rule (:class:`CallRule`, JSON keys in brackets):

    latency (``latency_ms``)   wait uniformly between ``min`` and ``max`` milliseconds before anything else
    ``timeout_rate``           hang for ``hang_seconds`` or until the client hangs up, then answer a timeout;
                               with ``timeout_after_apply`` the request is applied before it hangs, which
                               is how a real server that times out late makes clients send duplicates
    ``rate_limit_rate``        answer 429 with ``Retry-After: retry_after`` (where the platform has one)
    ``error_rate``             answer one of ``errors`` (a name listed twice is drawn twice as often)

The three rates are exclusive slices of one draw, so they add up to at most 1. Injected answers
carry an ``X-Emulator-Fault`` header naming the fault, so a log or a test can tell them apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeGuard, TypeVar

from starlette.requests import Request
from starlette.responses import Response

DEFAULT_HANG_SECONDS = 20.0
"""Longer than the 10 to 15 s timeouts of the bridge's clients, so a hang is a timeout for them."""
FAULT_HEADER = "X-Emulator-Fault"

Outcome = Literal["pass", "error", "rate_limit", "timeout"]


class FaultConfigError(ValueError):
    """A fault configuration that cannot be used; the message names the field (``api.default.error_rate``)."""


def is_number(value: object) -> TypeGuard[float]:
    """A finite JSON number; ``True`` is an ``int`` to Python but not a number to a configuration."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_rate(name: str, value: object) -> None:
    """A probability: a number from 0 to 1."""
    if not is_number(value) or not 0 <= value <= 1:
        raise FaultConfigError(f"{name}: must be a number from 0 to 1, not {value!r}")


@dataclass(frozen=True, slots=True)
class Latency:
    """A delay drawn uniformly between ``min_ms`` and ``max_ms`` milliseconds."""

    min_ms: float = 0.0
    max_ms: float = 0.0

    def __post_init__(self) -> None:
        if not (is_number(self.min_ms) and is_number(self.max_ms) and 0 <= self.min_ms <= self.max_ms):
            raise FaultConfigError(f"need numbers 0 <= min ({self.min_ms!r}) <= max ({self.max_ms!r})")

    def draw(self, rng: random.Random) -> float:
        """Seconds to wait; one draw even when min equals max, so the sequence does not depend on it."""
        return rng.uniform(self.min_ms, self.max_ms) / 1000

    def to_dict(self) -> dict[str, float]:
        """The JSON form."""
        return {"min": self.min_ms, "max": self.max_ms}


@dataclass(frozen=True, slots=True)
class CallRule:
    """What may go wrong with one request (module docstring); the defaults inject nothing.

    ``errors`` empty means the platform's usual server errors; which names are allowed depends on
    the platform and is checked by its :class:`Surface`.
    """

    error_rate: float = 0.0
    errors: tuple[str, ...] = ()
    rate_limit_rate: float = 0.0
    retry_after: int = 1
    latency: Latency | None = None
    timeout_rate: float = 0.0
    hang_seconds: float = DEFAULT_HANG_SECONDS
    timeout_after_apply: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "errors", tuple(self.errors))
        for name in ("error_rate", "rate_limit_rate", "timeout_rate"):
            check_rate(name, getattr(self, name))
        if self.failure_rate > 1 + 1e-9:
            raise FaultConfigError("error_rate + rate_limit_rate + timeout_rate: must not exceed 1")
        if (
            not isinstance(self.retry_after, int)
            or isinstance(self.retry_after, bool)
            or self.retry_after < 0
        ):
            raise FaultConfigError(f"retry_after: must be whole seconds >= 0, not {self.retry_after!r}")
        if not is_number(self.hang_seconds) or self.hang_seconds <= 0:
            raise FaultConfigError(f"hang_seconds: must be a number > 0, not {self.hang_seconds!r}")
        if not all(isinstance(name, str) for name in self.errors):
            raise FaultConfigError("errors: must be names")

    @property
    def failure_rate(self) -> float:
        """The share of requests that do not get their real answer."""
        return self.error_rate + self.rate_limit_rate + self.timeout_rate

    def to_dict(self, *, rate_limits: bool = True) -> dict[str, Any]:
        """Every field, so that a method's rule read back is not merged with a different default."""
        data: dict[str, Any] = {"error_rate": self.error_rate, "errors": list(self.errors)}
        if rate_limits:
            data.update(rate_limit_rate=self.rate_limit_rate, retry_after=self.retry_after)
        data.update(
            latency_ms=self.latency.to_dict() if self.latency else None,
            timeout_rate=self.timeout_rate,
            hang_seconds=self.hang_seconds,
            timeout_after_apply=self.timeout_after_apply,
        )
        return data


RULE_KEYS = frozenset(CallRule().to_dict())


@dataclass(frozen=True, slots=True)
class Surface:
    """Where rules apply and what they may answer: the platform's error names and whether it rate-limits."""

    name: str
    errors: frozenset[str]
    default_errors: tuple[str, ...]
    rate_limits: bool = True

    def check(self, rule: CallRule, where: str) -> None:
        """Refuse error names the platform does not have, and 429s where it has no ``Retry-After``."""
        unknown = sorted(set(rule.errors) - self.errors)
        if unknown:
            raise FaultConfigError(f"{where}.errors: unknown {unknown}; known: {sorted(self.errors)}")
        if not self.rate_limits and rule.rate_limit_rate:
            raise FaultConfigError(f"{where}.rate_limit_rate: {self.name} has none; use an error instead")

    def plan(self, rule: CallRule, rng: random.Random) -> CallPlan:
        """Draw one request's fate: latency first, then one roll split into timeout, 429, error, pass."""
        delay = rule.latency.draw(rng) if rule.latency else 0.0
        if rule.failure_rate <= 0:
            return CallPlan(rule, delay)
        roll = rng.random()
        if roll < rule.timeout_rate:
            return CallPlan(rule, delay, "timeout")
        if roll < rule.timeout_rate + rule.rate_limit_rate:
            return CallPlan(rule, delay, "rate_limit")
        if roll < rule.failure_rate:
            return CallPlan(rule, delay, "error", rng.choice(rule.errors or self.default_errors))
        return CallPlan(rule, delay)


@dataclass(frozen=True, slots=True)
class CallPlan:
    """The fate of one request, decided before anything is applied."""

    rule: CallRule
    delay: float = 0.0
    outcome: Outcome = "pass"
    error: str | None = None


class Reader:
    """A JSON object read field by field; every problem names its path, unknown keys included."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise FaultConfigError(f"{path or 'the fault configuration'}: must be a JSON object")
        self.data: Mapping[str, Any] = data
        self.path = path

    def where(self, key: str) -> str:
        """The JSON path of a field."""
        return f"{self.path}.{key}" if self.path else key

    def only(self, allowed: Iterable[str]) -> None:
        """Typos must not silently configure nothing."""
        unknown = sorted(set(self.data) - set(allowed))
        if unknown:
            raise FaultConfigError(f"{self.path or 'top level'}: unknown keys {unknown}")

    def object(self, key: str) -> Reader:
        """A nested object; absent or null is empty."""
        value = self.data.get(key)
        return Reader({} if value is None else value, self.where(key))

    def number(self, key: str, default: float) -> float:
        """A JSON number (not a boolean)."""
        value = self.data.get(key, default)
        if not is_number(value):
            raise FaultConfigError(f"{self.where(key)}: must be a number, not {value!r}")
        return float(value)

    def integer(self, key: str, default: int) -> int:
        """A JSON integer (not a boolean)."""
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise FaultConfigError(f"{self.where(key)}: must be an integer, not {value!r}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        """``true`` or ``false``."""
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise FaultConfigError(f"{self.where(key)}: must be true or false, not {value!r}")
        return value

    def names(self, key: str) -> tuple[str, ...]:
        """A list of strings; absent is empty."""
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise FaultConfigError(f"{self.where(key)}: must be a list of names, not {value!r}")
        return tuple(value)

    def latency(self, key: str) -> Latency | None:
        """``{"min": a, "max": b}`` or one number of milliseconds; absent or null is none."""
        value = self.data.get(key)
        if value is None:
            return None
        if is_number(value):
            low = high = float(value)
        else:
            span = Reader(value, self.where(key))
            span.only(("min", "max"))
            low = span.number("min", 0.0)
            high = span.number("max", low)
        try:
            return Latency(low, high)
        except FaultConfigError as exc:
            raise FaultConfigError(f"{self.where(key)}: {exc}") from exc


def read_rule(reader: Reader, surface: Surface) -> CallRule:
    """One :class:`CallRule` from its JSON object, checked against the platform."""
    allowed = RULE_KEYS if surface.rate_limits else RULE_KEYS - {"rate_limit_rate", "retry_after"}
    reader.only(allowed)
    where = reader.path or surface.name
    fields: dict[str, Any] = {
        "error_rate": reader.number("error_rate", 0.0),
        "errors": reader.names("errors"),
        "rate_limit_rate": reader.number("rate_limit_rate", 0.0),
        "retry_after": reader.integer("retry_after", 1),
        "latency": reader.latency("latency_ms"),
        "timeout_rate": reader.number("timeout_rate", 0.0),
        "hang_seconds": reader.number("hang_seconds", DEFAULT_HANG_SECONDS),
        "timeout_after_apply": reader.boolean("timeout_after_apply", False),
    }
    try:
        rule = CallRule(**fields)
    except FaultConfigError as exc:
        raise FaultConfigError(f"{where}: {exc}") from exc
    surface.check(rule, where)
    return rule


def read_seed(reader: Reader) -> int:
    """The seed of the run; 0 when absent, so every configuration is reproducible."""
    return reader.integer("seed", 0)


def load_json_file(path: str | Path) -> object:
    """The parsed file, or a :class:`FaultConfigError` naming it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FaultConfigError(f"{path}: {exc}") from exc


class FaultConfigLike(Protocol):
    """What the switch needs of a platform's configuration."""

    @property
    def seed(self) -> int:
        """Seeds the one random generator."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, for ``GET /emulator/faults``."""
        ...


ConfigT = TypeVar("ConfigT", bound=FaultConfigLike)
Reject = Callable[[CallPlan], Response]


class FaultSwitch(Generic[ConfigT]):
    """The active configuration, the one seeded random generator and what was injected so far.

    Configuring (again) reseeds the generator, so each phase of a chaos run is reproducible on its
    own; counters keep counting across phases (read them before and after). ``hanging`` is the
    number of requests hanging right now: it returns to 0 once their clients have given up.
    """

    def __init__(self, config: ConfigT | None = None) -> None:
        self.random = random.Random(0)
        self.config: ConfigT | None = None
        self.counts: Counter[str] = Counter()
        self.by_target: dict[str, Counter[str]] = {}
        self.hanging = 0
        self.configure(config)

    def configure(self, config: ConfigT | None) -> None:
        """Turn faults on with ``config``, or off with ``None``."""
        self.config = config
        self.random.seed(config.seed if config is not None else 0)

    def record(self, kind: str, target: str) -> None:
        """Count one injected fault of ``kind`` at ``target`` (``customer.send_event``)."""
        self.counts[kind] += 1
        self.by_target.setdefault(target, Counter())[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        """What ``GET /emulator/faults`` answers."""
        return {
            "config": self.config.to_dict() if self.config is not None else None,
            "counts": dict(sorted(self.counts.items())),
            "by_target": {
                target: dict(sorted(kinds.items())) for target, kinds in sorted(self.by_target.items())
            },
            "hanging": self.hanging,
        }

    async def run(
        self,
        request: Request,
        target: str,
        plan: CallPlan,
        apply: Callable[[], Awaitable[Response]],
        reject: Reject,
        *,
        answered: Sequence[type[Exception]] = (),
    ) -> Response:
        """Carry out ``plan`` around the real handler ``apply``; injected answers come from ``reject``.

        ``answered`` are the exceptions that are the handler's own error answers: a request applied
        before it hangs loses its answer, error or not, like a real one that times out.
        """
        self._count(target, plan)
        if plan.delay > 0:
            await asyncio.sleep(plan.delay)
        if plan.outcome == "pass":
            return await apply()
        if plan.outcome == "timeout":
            if plan.rule.timeout_after_apply:
                with contextlib.suppress(*answered):
                    await apply()
            await self.hang(request, plan.rule.hang_seconds)
        response = reject(plan)
        response.headers[FAULT_HEADER] = plan.outcome
        return response

    def _count(self, target: str, plan: CallPlan) -> None:
        if plan.rule.latency is not None:
            self.record("latency", target)
        if plan.outcome != "pass":
            self.record(plan.outcome, target)

    async def hang(self, request: Request, seconds: float) -> None:
        """Wait ``seconds``, or less if the client hangs up; never blocks the loop, cancellation propagates.

        Watching for ``http.disconnect`` matters on a real server: a handler is not cancelled when
        its client goes away, so without it every timed-out request would sleep on for its full hang.
        """
        self.hanging += 1
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    while (await request.receive())["type"] != "http.disconnect":
                        pass
        finally:
            self.hanging -= 1
