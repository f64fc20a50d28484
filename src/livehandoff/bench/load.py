"""The relay measurements: customer messages through the bridge and straight to LiveChat, flat out and
paced, and agent messages back to the customers.

A message *arrived at LiveChat* when the emulator stored it: its ``created_at`` (the emulator's
``time.time``, read back through the Agent Chat API) against the wall-clock time the customer's post
began gives the latency. Through the bridge, the run knows that every message arrived when the proxy in
front of LiveChat has relayed as many successful ``send_event`` answers. Agent messages are timed from
the moment their webhook reached the proxy in front of the bridge to the moment the customer's stream
showed them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from livehandoff.bench.clients import (
    BenchError,
    BridgeCustomer,
    LiveChatCustomer,
    LiveChatCustomers,
    Refused,
    parse_livechat_time,
)
from livehandoff.bench.http1 import Connection, Head
from livehandoff.bench.procstat import CpuMeter
from livehandoff.bench.stack import BenchStack
from livehandoff.bench.stats import summary_ms, utilisation
from livehandoff.chaos.clients import Agents
from livehandoff.chaos.run import Pacer

SETTLE_SECONDS = 0.3
"""A pause between measurements, so that one's tail does not run into the next."""


@dataclass(eq=False)
class DirectCustomer:
    """A LiveChat-direct customer: the baseline app's customer with its chat and connection."""

    customer: LiveChatCustomer
    http: Connection


async def spread(items: Sequence[Any], work: Callable[[Any], Awaitable[None]], limit: int) -> None:
    """``work`` on every item, at most ``limit`` at a time, in order of the items."""
    queue = list(reversed(items))

    async def worker() -> None:
        while queue:
            await work(queue.pop())

    async with asyncio.TaskGroup() as group:
        for _ in range(min(limit, len(items))):
            group.create_task(worker())


class Load:
    """Drives the relay measurements against a started :class:`BenchStack`."""

    def __init__(
        self,
        stack: BenchStack,
        agents: Agents,
        baseline: LiveChatCustomers,
        meter: CpuMeter,
        *,
        wait_seconds: float,
    ) -> None:
        self.stack = stack
        self.agents = agents
        self.baseline = baseline
        self.meter = meter
        self.wait_seconds = wait_seconds
        self.customers: list[BridgeCustomer] = []
        self.direct: list[DirectCustomer] = []
        self.webhook_in: dict[str, float] = {}
        self._batch = 0
        stack.webhook_proxy.observers.append(self._webhook_came_in)

    # --- setting up ------------------------------------------------------------------------------

    async def set_up(self, conversations: int, handoff: Callable[[BridgeCustomer], Awaitable[None]]) -> None:
        """``conversations`` customers handed to an agent through the bridge, as many LiveChat-direct."""
        host, port = self.stack.bridge_host_port
        self.customers = [BridgeCustomer(host, port) for _ in range(conversations)]
        await spread(self.customers, handoff, 10)
        assigned = await self.agents.assignments()
        for customer in self.customers:
            customer.chat_id, customer.agent_id = assigned.get(customer.id, ("", ""))
            if not customer.chat_id:
                raise BenchError(f"conversation {customer.id} has no LiveChat chat with an agent")
        self.direct = [
            DirectCustomer(LiveChatCustomer(""), self.baseline.connection()) for _ in self.customers
        ]
        await spread(self.direct, self._start_direct, 10)

    async def _start_direct(self, direct: DirectCustomer) -> None:
        direct.customer = await self.baseline.new_customer(direct.http)
        await self.baseline.start_chat(direct.http, direct.customer)

    async def aclose(self) -> None:
        """Close every customer's connections and stream."""
        for customer in self.customers:
            await customer.aclose()
        for direct in self.direct:
            await direct.http.aclose()

    def _texts(self, prefix: str, count: int) -> list[str]:
        self._batch += 1
        return [f"{prefix}{self._batch}:{n}" for n in range(count)]

    # --- customer → LiveChat -----------------------------------------------------------------------

    async def bridge_flat_out(self, count: int) -> dict[str, Any]:
        """Every customer posts its share one post after the other, as fast as the bridge answers;
        throughput counts until the last accepted message arrived at LiveChat. Posts the bridge
        refuses, or that are still unsent when the run's wait is over, are counted, not retried."""
        texts = self._texts("b", count)
        proxy = self.stack.livechat_proxy
        calls_before, answered_before = proxy.counts.copy(), proxy.answered["send_event"]
        posted: dict[str, float] = {}
        refused: Counter[str] = Counter()
        self.meter.restart()
        began = time.monotonic()
        deadline = began + self.wait_seconds
        await asyncio.gather(
            *(
                self._post_all(customer, texts[i :: len(self.customers)], posted, refused, deadline)
                for i, customer in enumerate(self.customers)
            )
        )
        accepted = time.monotonic()
        arrived = proxy.when_answered("send_event", answered_before + len(posted))
        finished = await asyncio.wait_for(arrived, self.wait_seconds)
        cpu = self.meter.used()
        elapsed = finished - began
        calls = {
            method: n - calls_before[method] for method, n in proxy.counts.items() if n > calls_before[method]
        }
        relayed = max(1, len(posted))
        result = {
            "messages": count,
            "relayed": len(posted),
            "refused": dict(refused),
            "seconds": round(elapsed, 3),
            "accepted_seconds": round(accepted - began, 3),
            "throughput_per_s": round(len(posted) / elapsed, 1),
            "cpu_seconds": {name: round(used, 3) for name, used in cpu.items()},
            "cpu_ms_per_message": round(cpu["bridge"] * 1000 / relayed, 3),
            "utilisation": utilisation(cpu, elapsed),
            "livechat_calls": calls,
        }
        result["post_to_livechat"] = summary_ms(await self._latencies(self.customers, posted))
        await asyncio.sleep(SETTLE_SECONDS)
        return result

    async def _post_all(
        self,
        customer: BridgeCustomer,
        texts: list[str],
        posted: dict[str, float],
        refused: Counter[str],
        deadline: float,
    ) -> None:
        for text in texts:
            if time.monotonic() > deadline:
                refused["unsent"] += 1
                continue
            await _post(customer, text, posted, refused)

    async def bridge_paced(self, count: int, rate: float) -> dict[str, Any]:
        """``count`` posts spread evenly at ``rate`` a second over the customers; each one's time to
        LiveChat."""
        texts = self._texts("p", count)
        proxy = self.stack.livechat_proxy
        answered_before = proxy.answered["send_event"]
        posted: dict[str, float] = {}
        refused: Counter[str] = Counter()

        async def post(index: int) -> None:
            await _post(self.customers[index % len(self.customers)], texts[index], posted, refused)

        began = await self._pace(count, rate, post)
        await asyncio.wait_for(
            proxy.when_answered("send_event", answered_before + len(posted)), self.wait_seconds
        )
        result = self._cost(began, max(1, len(posted)), rate)
        result.update(messages=count, relayed=len(posted), refused=dict(refused))
        result["post_to_livechat"] = summary_ms(await self._latencies(self.customers, posted))
        await asyncio.sleep(SETTLE_SECONDS)
        return result

    async def _pace(self, count: int, rate: float, send: Callable[[int], Coroutine[Any, Any, None]]) -> float:
        """``send(0)`` … ``send(count - 1)`` evenly spaced at ``rate`` a second, each without waiting for
        the one before; returns when the first began, when the CPU meter was started too."""
        pacer = Pacer(rate)
        self.meter.restart()
        began = time.monotonic()
        async with asyncio.TaskGroup() as group:
            for index in range(count):
                await pacer.wait()
                group.create_task(send(index))
        return began

    def _cost(self, began: float, count: int, rate: float) -> dict[str, Any]:
        """What ``count`` paced messages cost from ``began`` until now (all of them arrived)."""
        elapsed = time.monotonic() - began
        cpu = self.meter.used()
        return {
            "messages": count,
            "rate_per_s": round(rate, 1),
            "seconds": round(elapsed, 3),
            "cpu_ms_per_message": round(cpu["bridge"] * 1000 / count, 3),
            "utilisation": utilisation(cpu, elapsed),
        }

    async def direct_flat_out(self, count: int) -> dict[str, Any]:
        """The same load, each customer calling ``send_event`` on the emulator itself."""
        texts = self._texts("d", count)
        sent: dict[str, float] = {}
        self.meter.restart()
        began = time.monotonic()
        await asyncio.gather(
            *(
                self._send_all(direct, texts[i :: len(self.direct)], sent)
                for i, direct in enumerate(self.direct)
            )
        )
        elapsed = time.monotonic() - began
        cpu = self.meter.used()
        result = {
            "messages": count,
            "seconds": round(elapsed, 3),
            "throughput_per_s": round(count / elapsed, 1),
            "cpu_seconds": {name: round(used, 3) for name, used in cpu.items()},
            "utilisation": utilisation(cpu, elapsed),
        }
        result["send_to_livechat"] = summary_ms(await self._direct_latencies(sent))
        await asyncio.sleep(SETTLE_SECONDS)
        return result

    async def _send_all(self, direct: DirectCustomer, texts: list[str], sent: dict[str, float]) -> None:
        for text in texts:
            sent[text] = time.time()
            await self.baseline.say(direct.http, direct.customer, text)

    async def direct_paced(self, count: int, rate: float) -> dict[str, Any]:
        texts = self._texts("q", count)
        sent: dict[str, float] = {}
        locks = [asyncio.Lock() for _ in self.direct]

        async def send(index: int) -> None:
            slot = index % len(self.direct)
            async with locks[slot]:
                sent[texts[index]] = time.time()
                await self.baseline.say(self.direct[slot].http, self.direct[slot].customer, texts[index])

        result = self._cost(await self._pace(count, rate, send), count, rate)
        result["send_to_livechat"] = summary_ms(await self._direct_latencies(sent))
        await asyncio.sleep(SETTLE_SECONDS)
        return result

    async def _latencies(self, customers: Sequence[BridgeCustomer], posted: dict[str, float]) -> list[float]:
        arrived: dict[str, float] = {}
        for customer in customers:
            arrived.update(await self._arrivals(customer.chat_id))
        return _differences(posted, arrived)

    async def _direct_latencies(self, sent: dict[str, float]) -> list[float]:
        arrived: dict[str, float] = {}
        for direct in self.direct:
            arrived.update(await self._arrivals(direct.customer.chat_id))
        return _differences(sent, arrived)

    async def _arrivals(self, chat_id: str) -> dict[str, float]:
        """Message text → when the emulator stored it, for the chat's current thread."""
        chat = await self.agents.call(self.stack.admin, "get_chat", {"chat_id": chat_id})
        return {
            str(event["text"]): parse_livechat_time(event["created_at"])
            for event in chat["thread"]["events"]
            if event.get("type") == "message"
        }

    # --- agent → customer ----------------------------------------------------------------------------

    def _webhook_came_in(self, head: Head, body: bytes, at: float) -> None:
        try:
            envelope = json.loads(body)
            if envelope.get("action") == "incoming_event":
                self.webhook_in.setdefault(str(envelope["payload"]["event"]["text"]), at)
        except (ValueError, KeyError, TypeError, AttributeError):
            return

    async def agent_to_customer(self, count: int, rate: float) -> dict[str, Any]:
        """Agents answer on the Agent Chat API at ``rate``; webhook in → the customer's stream."""
        texts = self._texts("a", count)
        expected: dict[str, BridgeCustomer] = {}

        async def send(index: int) -> None:
            customer = self.customers[index % len(self.customers)]
            agent = self.stack.world.agent(customer.agent_id)
            assert agent is not None
            expected[texts[index]] = customer
            body = {"chat_id": customer.chat_id, "event": {"type": "message", "text": texts[index]}}
            await self.agents.call(agent, "send_event", body)

        began = await self._pace(count, rate, send)
        deadline = time.monotonic() + self.wait_seconds
        while not all(text in customer.agent_messages for text, customer in expected.items()):
            if time.monotonic() > deadline:
                raise BenchError("agent messages did not all reach the customers' streams")
            await asyncio.sleep(0.05)
        result = self._cost(began, count, rate)
        shown = {text: customer.agent_messages[text] for text, customer in expected.items()}
        came_in = {text: self.webhook_in[text] for text in shown if text in self.webhook_in}
        result["webhook_to_stream"] = summary_ms(_differences(came_in, shown))
        await asyncio.sleep(SETTLE_SECONDS)
        return result


async def _post(customer: BridgeCustomer, text: str, posted: dict[str, float], refused: Counter[str]) -> None:
    try:
        posted[text] = await customer.post(text)
    except Refused as exc:
        refused[exc.status] += 1


def _differences(began: dict[str, float], ended: dict[str, float]) -> list[float]:
    missing = [text for text in began if text not in ended]
    if missing:
        raise BenchError(f"{len(missing)} messages never arrived, e.g. {missing[0]!r}")
    return [ended[text] - began[text] for text in began]
