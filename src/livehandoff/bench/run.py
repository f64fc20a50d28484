"""The benchmark's phases, in order:

1. *handoffs* — one customer at a time, with the configured round trip added to every LiveChat call:
   a conversation with the bot, the handoff (a new LiveChat customer), the agent closes the chat, the
   handoff again (a returning customer); then the naive recipe with the same transcript. Timed from the
   customer's post to ``agent_joined`` on their stream; the LiveChat calls in that window are counted.
2. *relay* — round trip back to ``relay_rtt_ms``: customers handed to agents, then the bridge flat
   out (throughput, CPU per message), LiveChat-direct flat out, both paced at half the bridge's
   throughput (latency), and agents answering at that rate (webhook in → the customer's stream).
3. *idle streams* — many more conversations, each with its event stream open and nothing said; the
   bridge's memory, and the relay measured again while they stay open (flat out with half the
   messages: throughput does not depend on their number).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from livehandoff.bench.clients import (
    HANDOFF_TEXT,
    WARM_UP,
    BenchError,
    BridgeCustomer,
    LiveChatCustomers,
    Refused,
)
from livehandoff.bench.http1 import Connection, EventStream, ProtocolError
from livehandoff.bench.load import Load, spread
from livehandoff.bench.procstat import CpuMeter, rss_bytes
from livehandoff.bench.proxy import sequential_round_trips
from livehandoff.bench.stack import BenchStack
from livehandoff.bench.stats import summary_ms
from livehandoff.chaos.clients import Agents

STEP_SECONDS = 30.0
"""How long one step of a conversation (a bot answer, an agent joining) may take."""
QUIET_SECONDS = 0.3
"""Nothing on the customer's stream for this long: the bridge is done with the last input."""
MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class BenchOptions:
    """What to measure; the defaults finish in a few minutes on two cores."""

    conversations: int = 50
    """Customers with an agent that carry the relay load (and as many LiveChat-direct ones)."""
    messages: int = 2000
    """Customer messages of each flat-out relay measurement."""
    paced_seconds: float = 20.0
    """How long each measurement at half the bridge's throughput lasts (customer and agent messages)."""
    handoffs: int = 10
    """Handoffs of each kind (new customer, returning customer, naive recipe)."""
    idle_streams: int = 10_000
    livechat_rtt_ms: float = 50.0
    """Round trip added to every LiveChat call during the handoffs."""
    relay_rtt_ms: float = 0.0
    """Round trip added to every LiveChat call during the relay measurements."""
    agents: int = 10
    database_url: str = ""
    wait_seconds: float = 300.0
    """How long the run waits for a measurement's messages to arrive before giving up."""


QUICK = BenchOptions(conversations=3, messages=30, paced_seconds=0.5, handoffs=1, idle_streams=30)
MIN_PACED_MESSAGES = 10


class BenchRun:
    """One run against a started :class:`BenchStack`; :attr:`results` holds what it measured."""

    def __init__(
        self,
        options: BenchOptions,
        stack: BenchStack,
        agents: Agents,
        baseline: LiveChatCustomers,
        naive: LiveChatCustomers,
        say: Callable[[str], None],
    ) -> None:
        self.options = options
        self.stack = stack
        self.agents = agents
        self.naive = naive
        self.say = say
        pids = {**stack.pids(), "driver": os.getpid()}
        self.meter = CpuMeter(pids)
        self.load = Load(stack, agents, baseline, self.meter, wait_seconds=options.wait_seconds)
        self.results: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.idle_streams = options.idle_streams

    async def run(self) -> None:
        try:
            await self._phase("handoffs", self._handoffs())
            await self._phase("relay", self._relay())
            await self._phase("idle_streams", self._idle_streams())
        finally:
            await self.load.aclose()

    async def _phase(self, name: str, work: Awaitable[None]) -> None:
        started = time.monotonic()
        await work
        self.timings[f"{name}_s"] = round(time.monotonic() - started, 2)
        self.say(f"bench: {name} done in {self.timings[f'{name}_s']:.1f} s")

    # --- 1. handoffs -------------------------------------------------------------------------------

    async def _handoffs(self) -> None:
        proxy = self.stack.livechat_proxy
        proxy.rtt_ms, proxy.recording = self.options.livechat_rtt_ms, True
        new, returning, naive = [], [], []
        http = self.naive.connection()
        await self.naive.agent_token(http)  # fetched once, as an integration would
        try:
            for index in range(self.options.handoffs):
                customer = BridgeCustomer(*self.stack.bridge_host_port)
                try:
                    first, again, transcript = await self._handoff_twice(customer, index)
                finally:
                    await customer.aclose()
                new.append(first)
                returning.append(again)
                naive.append(await self._naive_handoff(http, transcript))
        finally:
            proxy.rtt_ms, proxy.recording = self.options.relay_rtt_ms, False
            proxy.calls.clear()
            await http.aclose()
        self.results["handoffs"] = {
            "rtt_ms": self.options.livechat_rtt_ms,
            "new_customer": _handoff_summary(new),
            "returning_customer": _handoff_summary(returning),
            "naive_recipe": _handoff_summary(naive),
        }

    async def _handoff_twice(
        self, customer: BridgeCustomer, index: int
    ) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        """New customer, then returning customer; with the transcript the first handoff carried."""
        await customer.create(f"Handoff customer {index}")
        await customer.follow()
        for text in WARM_UP:
            after = len(customer.seen)
            await customer.post(text)
            await customer.wait_for(
                lambda seen: seen.kind == "message" and seen.author == "bot",
                after=after,
                within=STEP_SECONDS,
            )
            await customer.quiet(QUIET_SECONDS)
        first, joined_at = await self._timed_handoff(customer)
        transcript = customer.transcript(before=joined_at)
        if not await self._agent_closes(customer):
            raise BenchError(f"conversation {customer.id}: no agent in its LiveChat chat after agent_joined")
        again, joined_at = await self._timed_handoff(customer)
        # The chat may have been closed already, by the bridge: noted, as the customer saw it end.
        ended = any(seen.kind == "handoff_ended" for seen in customer.seen[joined_at:])
        again["ended_without_agent"] = ended or not await self._agent_closes(customer)
        return first, again, transcript

    async def _timed_handoff(self, customer: BridgeCustomer) -> tuple[dict[str, Any], int]:
        """Post the handoff request; until ``agent_joined`` shows on the stream. Returns the timing and
        where ``agent_joined`` is among the events seen."""
        after = len(customer.seen)
        began = time.monotonic()
        await customer.post(HANDOFF_TEXT)
        joined = await customer.wait_kind("agent_joined", after=after, within=STEP_SECONDS)
        # A call is recorded when its answer is back, which may come after agent_joined (the webhook
        # can overtake the answer): the calls that began before agent_joined are read once all are in.
        await customer.quiet(QUIET_SECONDS)
        trips = sequential_round_trips(self.stack.livechat_proxy.calls_between(began, joined.at))
        return {"seconds": joined.at - began, "round_trips": trips}, customer.seen.index(joined)

    async def _agent_closes(self, customer: BridgeCustomer) -> bool:
        """The agent closes the chat on the Agent Chat API; until the bridge has told the customer.
        False when the chat had no agent any more to close it."""
        chat_id, agent_id = (await self.agents.assignments()).get(customer.id, ("", ""))
        agent = self.stack.world.agent(agent_id)
        if agent is None:
            return False
        after = len(customer.seen)
        await self.agents.call(agent, "deactivate_chat", {"id": chat_id})
        await customer.wait_kind("handoff_ended", after=after, within=STEP_SECONDS)
        await customer.quiet(QUIET_SECONDS)
        return True

    async def _naive_handoff(self, http: Connection, transcript: list[str]) -> dict[str, Any]:
        proxy = self.stack.livechat_proxy
        began = time.monotonic()
        customer = await self.naive.naive_handoff(http, transcript)
        ended = time.monotonic()
        trips = sequential_round_trips(proxy.calls_between(began, ended))
        await self.naive.close_chat(http, customer)
        return {"seconds": ended - began, "round_trips": trips, "transcript_lines": len(transcript)}

    # --- 2. relay ------------------------------------------------------------------------------------

    async def _relay(self) -> None:
        options = self.options
        await self.load.set_up(options.conversations, self._hand_off_for_load)
        self.say(f"bench: {options.conversations} customers with an agent; relaying flat out")
        bridge = await self.load.bridge_flat_out(options.messages)
        direct = await self.load.direct_flat_out(options.messages)
        rate = bridge["throughput_per_s"] / 2
        self.say(f"bench: {bridge['throughput_per_s']} messages/s through the bridge; paced at {rate:.1f}/s")
        self.results["relay"] = {
            "rtt_ms": options.relay_rtt_ms,
            "bridge_flat_out": bridge,
            "direct_flat_out": direct,
            "half_rate_per_s": round(rate, 1),
            "bridge_paced": await self.load.bridge_paced(self._paced_count(rate), rate),
            "direct_paced": await self.load.direct_paced(self._paced_count(rate), rate),
            "agent_to_customer": await self.load.agent_to_customer(self._paced_count(rate), rate),
        }

    def _paced_count(self, rate: float) -> int:
        return max(MIN_PACED_MESSAGES, round(rate * self.options.paced_seconds))

    async def _hand_off_for_load(self, customer: BridgeCustomer) -> None:
        await customer.create("Load customer")
        await customer.follow()
        await customer.post(HANDOFF_TEXT)
        await customer.wait_kind("agent_joined", after=0, within=STEP_SECONDS)

    # --- 3. idle streams ---------------------------------------------------------------------------

    async def _idle_streams(self) -> None:
        bridge_pid = self.stack.pids()["bridge"]
        count = self.idle_streams
        before = rss_bytes(bridge_pid)
        self.say(f"bench: opening {count} idle customer event streams")
        began = time.monotonic()
        refused: Counter[str] = Counter()
        streams = await self._open_idle_streams(count, refused)
        opened_s = time.monotonic() - began
        try:
            await asyncio.sleep(1.0)
            with_streams = rss_bytes(bridge_pid)
            idle_cpu = await self._idle_cost()
            rate = self.results["relay"]["half_rate_per_s"]
            bridge = await self.load.bridge_flat_out(max(1, self.options.messages // 2))
            paced = await self.load.bridge_paced(self._paced_count(rate), rate)
            after_load = rss_bytes(bridge_pid)
        finally:
            for stream in streams:
                stream.close()
        self.results["idle_streams"] = {
            "streams": count,
            "opened": len(streams),
            "refused": dict(refused),
            "open_seconds": round(opened_s, 2),
            "bridge_utilisation_idle": idle_cpu,
            "bridge_rss_mib": {
                "before": round(before / MIB, 1),
                "with_streams": round(with_streams / MIB, 1),
                "after_load": round(after_load / MIB, 1),
            },
            "bridge_flat_out": bridge,
            "bridge_paced": paced,
        }

    async def _idle_cost(self) -> float:
        """The bridge's share of a core while the streams are open and nobody says anything, over
        three quarters of ``paced_seconds`` (15 s by default: one keep-alive period of every stream)."""
        self.meter.restart()
        began = time.monotonic()
        await asyncio.sleep(self.options.paced_seconds * 0.75)
        return round(self.meter.used()["bridge"] / (time.monotonic() - began), 3)

    async def _open_idle_streams(self, count: int, refused: Counter[str]) -> list[EventStream]:
        """``count`` new conversations, each with its stream open; nobody reads them (a keep-alive every
        15 s fits in the socket's buffer for hours). What the bridge refuses is counted in ``refused``."""
        host, port = self.stack.bridge_host_port
        waiting = [BridgeCustomer(host, port) for _ in range(count)]
        created: list[BridgeCustomer] = []

        async def create() -> None:
            connection = Connection(host, port)
            try:
                while waiting:
                    customer = waiting.pop()
                    customer.http = connection
                    try:
                        await customer.create("Idle customer")
                    except Refused as exc:
                        refused[f"create:{exc.status}"] += 1
                    else:
                        created.append(customer)
            finally:
                await connection.aclose()

        async with asyncio.TaskGroup() as group:
            for _ in range(min(32, count)):
                group.create_task(create())
        streams: list[EventStream] = []

        async def open_stream(customer: BridgeCustomer) -> None:
            try:
                streams.append(await customer.open_stream())
            except ProtocolError:
                refused["stream"] += 1

        try:
            await spread(created, open_stream, 64)
        except BaseException:
            for stream in streams:
                stream.close()
            raise
        return streams


def _handoff_summary(handoffs: list[dict[str, Any]]) -> dict[str, Any]:
    trips = [len(handoff["round_trips"]) for handoff in handoffs]
    return {
        "count": len(handoffs),
        "latency": summary_ms(handoff["seconds"] for handoff in handoffs),
        "round_trips": {"max": max(trips, default=0), "min": min(trips, default=0)},
        "critical_path": handoffs[0]["round_trips"] if handoffs else [],
        "each_ms": [round(handoff["seconds"] * 1000, 1) for handoff in handoffs],
        "ended_without_agent": sum(1 for handoff in handoffs if handoff.get("ended_without_agent")),
        "transcript_lines": handoffs[0].get("transcript_lines") if handoffs else None,
    }
