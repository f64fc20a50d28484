"""The chaos run's phases: hand off every conversation, talk both ways under faults while the bridge is
killed and restarted, settle.

Phases, each timed in the report:

1. *handoffs* — every conversation is created, asks for an agent and waits for ``agent_joined``; no
   faults yet, so every run starts from the same place;
2. *messages* — faults on; in each conversation the customer and the agent each send ``messages``
   numbered messages (``c:<conversation>:<n>``, ``a:<conversation>:<n>``) at the same time, one after
   the other per sender; halfway through (counted over all messages) an instance of the bridge gets
   ``SIGKILL`` and is started again on the same port and database; with several instances, at three
   quarters every instance is restarted in turn (:mod:`.outages`);
3. *settle* — faults off; wait (bounded) until every message has arrived, then until LiveChat's
   webhook retries from the outage are over, so late copies are seen; then read everything once more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from livehandoff.chaos.check import Findings, compare
from livehandoff.chaos.clients import (
    HANDOFF_TEXT,
    Agents,
    Conversation,
    Customers,
    DriverError,
    FaultSwitch,
)
from livehandoff.chaos.outages import Outages
from livehandoff.chaos.stack import ChaosStack

DEFAULT_FAULTS = Path(__file__).with_name("faults.json")
QUIET_SECONDS = 3.0
"""After everything arrived, how long to go on listening for late copies."""
FINAL_READ_SECONDS = 30.0
LOAD_SAMPLE_SECONDS = 5.0
LISTEN_AFTER_SECONDS = 15.0
"""How long a customer's stream stays open after both sides sent their last message, for the agent's
last messages to arrive while the delivery latency is measured (later ones are read when settling)."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ChaosOptions:
    """What to run; the defaults finish in a few minutes on two cores."""

    conversations: int = 200
    messages: int = 10
    concurrency: int = 50
    """Conversations in flight at once."""
    agents: int = 50
    faults: Path = DEFAULT_FAULTS
    seed: int | None = None
    """Seeds the fault mix, instead of the file's ``seed``."""
    kill: bool = True
    """Kill an instance halfway, and with several instances restart them all at three quarters."""
    kill_in_flight_seconds: float = 10.0
    """At the halfway mark, wait up to this long for a LiveChat call the bridge made to be hanging
    after LiveChat applied it, and kill then: the crash a durable outbox has to survive."""
    rate: float = 25.0
    """Messages a second over both directions, the offered load. The bridge must keep up with it for the
    run to test faults rather than capacity: LiveChat gives up on a webhook after three retries."""
    handoff_seconds: float = 60.0
    send_seconds: float = 120.0
    """How long one message's sender keeps trying before it is counted as not sent."""
    settle_seconds: float = 120.0
    retry_horizon_seconds: float = 65.0
    """LiveChat retries a webhook 5, 20 and 35 s after a failed attempt: this long after the last restart,
    every delivery the outages interrupted has been made, so its copies can be counted."""
    database_url: str = ""
    """The bridge's database; empty: a SQLite file in the run's directory. A PostgreSQL database should be
    empty: the check counts every message the bridge shows."""
    instances: int = 1
    """Bridge processes; more than one need PostgreSQL, and serve behind the run's round-robin proxy."""
    redis_url: str = ""
    """Redis for the rate limits every instance shares (``LIVEHANDOFF_REDIS_URL``); empty: per process."""


async def bounded(items: Iterable[T], work: Callable[[T], Awaitable[None]], limit: int) -> None:
    """``work`` on every item, at most ``limit`` at a time; the first exception cancels the rest."""
    gate = asyncio.Semaphore(limit)

    async def one(item: T) -> None:
        async with gate:
            await work(item)

    try:
        async with asyncio.TaskGroup() as group:
            for item in items:
                group.create_task(one(item))
    except ExceptionGroup as failed:
        raise first_leaf(failed) from failed


def first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first exception of a (nested) group: what the caller would have seen without task groups."""
    first = group.exceptions[0]
    return first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


class Pacer:
    """Hands out evenly spaced send slots to every sender, first come first served."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next = time.monotonic()

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(self._next, now)
        self._next = slot + self._interval
        await asyncio.sleep(slot - now)


class ChaosRun:
    """One run against a started :class:`ChaosStack`."""

    def __init__(
        self,
        options: ChaosOptions,
        stack: ChaosStack,
        http: httpx.AsyncClient,
        streams: httpx.AsyncClient,
        say: Callable[[str], None],
        *,
        customer_http: httpx.AsyncClient | None = None,
    ) -> None:
        """``http`` talks to LiveChat; customers post with ``customer_http`` (default ``http``) and read
        their streams with ``streams``."""
        self.options = options
        self.stack = stack
        self.say = say
        self.customers = Customers(customer_http or http, streams, stack.bridge_url)
        self.agents = Agents(http, stack.livechat_url, stack.admin)
        self.faults = FaultSwitch(http, stack.livechat_url, stack.admin)
        self.outages = Outages(stack, self.faults, say)
        self.conversations = [Conversation(index) for index in range(1, options.conversations + 1)]
        self.setup_failures: list[dict[str, Any]] = []
        self.timings: dict[str, float] = {}
        self.fault_counts: dict[str, Any] = {}
        self._sent = 0
        everything = 2 * options.conversations * options.messages  # both directions
        self._kill_at = max(1, everything // 2)
        self._roll_at = max(1, everything * 3 // 4)
        self._kill_now = asyncio.Event()
        self._roll_now = asyncio.Event()
        self._pacer = Pacer(options.rate)
        self.started = time.monotonic()
        self.load: list[float] = []
        """The machine's one-minute load average, every few seconds of the run: the run shares the
        machine with whatever else runs on it."""

    @property
    def restart(self) -> dict[str, Any]:
        """The kill: which instance, when, how long it was down."""
        return self.outages.kill

    @property
    def outage(self) -> tuple[float, float] | None:
        """When the killed instance was killed and when it answered again (``time.monotonic``)."""
        return self.outages.outage

    @property
    def active(self) -> list[Conversation]:
        """Conversations whose handoff worked; only they are talked through."""
        failed = {failure["conversation"] for failure in self.setup_failures}
        return [conversation for conversation in self.conversations if conversation.index not in failed]

    async def run(self) -> None:
        sampler = asyncio.create_task(self._sample_load())
        try:
            await self._phase("handoffs", self._handoffs())
            await self._phase("messages", self._messages())
            await self._phase("settle", self._settle())
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler

    async def _sample_load(self) -> None:
        while True:
            with contextlib.suppress(OSError):
                self.load.append(os.getloadavg()[0])
            await asyncio.sleep(LOAD_SAMPLE_SECONDS)

    async def _phase(self, name: str, work: Awaitable[None]) -> None:
        started = time.monotonic()
        await work
        self.timings[f"{name}_s"] = round(time.monotonic() - started, 2)
        self.say(f"chaos: {name} done in {self.timings[f'{name}_s']:.1f} s")

    # --- 1. handoffs ---------------------------------------------------------------------------

    async def _handoffs(self) -> None:
        await bounded(self.conversations, self._handoff, self.options.concurrency)
        assigned = await self.agents.assignments()
        for conversation in self.active:
            chat_id, agent_id = assigned.get(conversation.id, ("", ""))
            conversation.chat_id, conversation.agent = chat_id, self.stack.world.agent(agent_id)
            if not chat_id or conversation.agent is None:
                self._setup_failed(conversation, "no LiveChat chat with an agent for the conversation")

    async def _handoff(self, conversation: Conversation) -> None:
        deadline = time.monotonic() + self.options.handoff_seconds
        await self.customers.create(conversation, deadline=deadline)
        if not await self.customers.say(conversation, HANDOFF_TEXT, deadline=deadline):
            self._setup_failed(conversation, "the handoff request was not accepted")
            return

        def settled() -> bool:
            return conversation.has_event("agent_joined") or conversation.has_event("handoff_failed")

        await self.customers.follow(conversation, settled, deadline=deadline)
        if not conversation.has_event("agent_joined"):
            kinds = [event.get("type") for _, event in sorted(conversation.events.items())]
            self._setup_failed(conversation, f"no agent joined; the stream showed {kinds}")

    def _setup_failed(self, conversation: Conversation, why: str) -> None:
        self.setup_failures.append({"conversation": conversation.index, "id": conversation.id, "why": why})

    # --- 2. messages, with faults and a kill -9 --------------------------------------------------

    async def _messages(self) -> None:
        config = json.loads(self.options.faults.read_text(encoding="utf-8"))
        if self.options.seed is not None:
            config["seed"] = self.options.seed
        self.fault_counts["before"] = (await self.faults.on(config))["counts"]
        self.fault_counts["config"] = config
        self.started = self.outages.origin = time.monotonic()
        monkey = asyncio.create_task(self._disrupt())
        try:
            await bounded(self.active, self._converse, self.options.concurrency)
            if self.options.kill and not monkey.done():
                self._kill_now.set()  # fewer messages than expected went out; still kill and restart
                self._roll_now.set()
            await monkey
        finally:
            if not monkey.done():
                monkey.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await monkey

    async def _converse(self, conversation: Conversation) -> None:
        talking = True

        def heard_everything() -> bool:
            return not talking and conversation.agent_messages_arrived()

        reader = asyncio.create_task(
            self.customers.follow(conversation, heard_everything, deadline=time.monotonic() + 86_400)
        )
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._customer_turns(conversation))
                group.create_task(self._agent_turns(conversation))
            talking = False
            if not conversation.agent_messages_arrived():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(reader), LISTEN_AFTER_SECONDS)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _customer_turns(self, conversation: Conversation) -> None:
        for n in range(1, self.options.messages + 1):
            await self._pacer.wait()
            text = f"c:{conversation.index}:{n}"
            deadline = time.monotonic() + self.options.send_seconds
            if await self.customers.say(conversation, text, deadline=deadline):
                conversation.customer_sent.append(text)
                conversation.sent_at[text] = time.monotonic()
            else:
                conversation.unsent.append(text)
            self._count_sent()

    async def _agent_turns(self, conversation: Conversation) -> None:
        for n in range(1, self.options.messages + 1):
            await self._pacer.wait()
            text = f"a:{conversation.index}:{n}"
            conversation.send_started[text] = time.monotonic()
            try:
                await self.agents.say(conversation, text)
            except (DriverError, httpx.TransportError) as exc:
                conversation.counters[f"agent_send_failed:{type(exc).__name__}"] += 1
                conversation.unsent.append(text)
            else:
                conversation.agent_sent.append(text)
                conversation.sent_at[text] = time.monotonic()
            self._count_sent()

    def _count_sent(self) -> None:
        self._sent += 1
        if self.options.kill and self._sent >= self._kill_at:
            self._kill_now.set()
        if self.options.kill and self._sent >= self._roll_at:
            self._roll_now.set()

    async def _disrupt(self) -> None:
        if not self.options.kill:
            return
        await self._kill_now.wait()
        await self.outages.kill_and_restart(self._sent, in_flight_seconds=self.options.kill_in_flight_seconds)
        if self.stack.instance_count > 1:
            await self._roll_now.wait()
            await self.outages.rolling_restart(self._sent)

    # --- 3. settle --------------------------------------------------------------------------------

    async def _settle(self) -> None:
        self.fault_counts["after"] = (await self.faults.off())["counts"]
        deadline = time.monotonic() + self.options.settle_seconds
        await bounded(self.active, lambda c: self._arrive(c, deadline), self.options.concurrency)
        self.timings["arrival_s"] = round(time.monotonic() - (deadline - self.options.settle_seconds), 2)
        quiet_until = time.monotonic() + QUIET_SECONDS
        if self.outages.calm_since is not None:
            quiet_until = max(quiet_until, self.outages.calm_since + self.options.retry_horizon_seconds)
        await asyncio.sleep(max(0.0, quiet_until - time.monotonic()))
        await bounded(self.active, self._final_read, self.options.concurrency)

    async def _arrive(self, conversation: Conversation, deadline: float) -> None:
        """Until both sides were shown everything the other sent, or ``deadline``."""
        await self.customers.follow(conversation, conversation.agent_messages_arrived, deadline=deadline)
        while time.monotonic() < deadline:
            shown = set(await self.agents.shown(conversation))
            if all(text in shown for text in conversation.customer_sent):
                return
            await asyncio.sleep(0.5)

    async def _final_read(self, conversation: Conversation) -> None:
        """Read both sides once more; check the stream against the stored transcript."""
        stored = await self.customers.transcript(conversation)
        last_seq = int(stored["last_seq"])
        await self.customers.follow(
            conversation,
            lambda: conversation.last_seq >= last_seq,
            deadline=time.monotonic() + FINAL_READ_SECONDS,
        )
        conversation.agent_view = await self.agents.messages(conversation)
        conversation.shown_to_agent = [str(event["text"]) for event in conversation.agent_view]
        streamed = {
            seq: e.get("text") for seq, e in conversation.events.items() if e.get("type") == "message"
        }
        transcript = {e["seq"]: e.get("text") for e in stored["transcript"]}
        if streamed != transcript:
            conversation.counters["stream_transcript_mismatch"] += 1

    def findings(self) -> dict[str, list[tuple[Conversation, Findings]]]:
        """Per direction, each conversation's comparison. A message shown to the wrong person (another
        conversation's number) is *unexpected* there and *lost* where it belonged."""
        to_agent, to_customer = [], []
        for conversation in self.active:
            shown_to_agent = [text for text in conversation.shown_to_agent if text.startswith("c:")]
            shown_to_customer = [text for text in conversation.shown_to_customer() if text.startswith("a:")]
            to_agent.append((conversation, compare(conversation.customer_sent, shown_to_agent)))
            to_customer.append((conversation, compare(conversation.agent_sent, shown_to_customer)))
        return {"customer_to_agent": to_agent, "agent_to_customer": to_customer}
