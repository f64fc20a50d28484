"""What happens to the bridge's processes during the message phase, timed for the report.

- **A kill**: once a LiveChat call the bridge made hangs after LiveChat applied it (or a bounded wait is
  over), one instance gets ``SIGKILL`` and is started again on the same port and database. With several
  instances it is the one holding the lease of a conversation whose send has begun — the instance whose
  call hangs, as far as the shared database tells — so that another instance has to take that
  conversation over, with a send of uncertain outcome at its head.
- **A rolling restart** (several instances only): each instance in turn is taken out of the proxy's
  rotation, stopped with ``SIGTERM`` (``SIGKILL`` only after a deploy's grace period), started again, and
  put back once it answers ``/healthz``; then the next. The others serve meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from livehandoff.chaos.clients import FaultSwitch
from livehandoff.chaos.stack import ChaosStack, Instance

ROLLING_STOP_SECONDS = 30.0
"""How long a stopping instance may take before it gets ``SIGKILL`` (Kubernetes' default grace period)."""


class Outages:
    """Kills and restarts one stack's instances and keeps what happened."""

    def __init__(self, stack: ChaosStack, faults: FaultSwitch, say: Callable[[str], None]) -> None:
        self.stack = stack
        self.faults = faults
        self.say = say
        self.origin = time.monotonic()
        """The start of the message phase; the report's times are relative to it."""
        self.kill: dict[str, Any] = {}
        self.rolling: dict[str, Any] = {}
        self.outage: tuple[float, float] | None = None
        """When an instance was killed and when it answered again (``time.monotonic``)."""
        self.calm_since: float | None = None
        """When the last instance stopped or killed answered again."""

    @property
    def several(self) -> bool:
        return self.stack.instance_count > 1

    def _name(self, instance: Instance) -> str:
        return f"bridge instance {instance.number}" if self.several else "bridge"

    def _at(self, moment: float) -> float:
        return round(moment - self.origin, 2)

    async def kill_and_restart(self, sent: int, *, in_flight_seconds: float) -> None:
        in_flight = await self._hanging_calls(in_flight_seconds)
        sender = await self.stack.sending_instance() if self.several else None
        victim = sender or self.stack.instance()
        killed = time.monotonic()
        await self.stack.kill_bridge(victim)
        calls = "call" if in_flight == 1 else "calls"
        self.say(
            f"chaos: {self._name(victim)} killed (SIGKILL) after {sent} messages with {in_flight} LiveChat"
            f" {calls} hanging; starting it again"
        )
        attempts = await self.stack.start_bridge(victim)
        restarted = time.monotonic()
        self.outage = (killed, restarted)
        self.calm_since = restarted
        self.kill = {
            "instance": victim.number,
            "killed_after_messages": sent,
            "livechat_calls_hanging_at_kill": in_flight,
            "killed_at_s": self._at(killed),
            "down_s": round(restarted - killed, 2),
            "start_attempts": attempts,
        }
        if self.several:
            self.kill["instance_held_a_begun_send"] = sender is not None
        self.say(f"chaos: {self._name(victim)} answering again after {self.kill['down_s']:.1f} s")

    async def _hanging_calls(self, wait_seconds: float) -> int:
        """How many requests LiveChat holds unanswered, once there is one or the wait is over."""
        deadline = time.monotonic() + wait_seconds
        while True:
            hanging = int((await self.faults.counts()).get("hanging", 0))
            if hanging or time.monotonic() >= deadline:
                return hanging
            await asyncio.sleep(0.05)

    async def rolling_restart(self, sent: int) -> None:
        began = time.monotonic()
        self.say(f"chaos: rolling restart of {self.stack.instance_count} instances after {sent} messages")
        steps = [await self._restart(instance) for instance in self.stack.instances]
        self.calm_since = time.monotonic()
        self.rolling = {
            "after_messages": sent,
            "began_at_s": self._at(began),
            "took_s": round(self.calm_since - began, 2),
            "instances": steps,
        }
        self.say(f"chaos: rolling restart done in {self.rolling['took_s']:.1f} s")

    async def _restart(self, instance: Instance) -> dict[str, Any]:
        stopping = time.monotonic()
        exited = await self.stack.stop_bridge(instance, grace=ROLLING_STOP_SECONDS)
        stopped = time.monotonic()
        attempts = await self.stack.start_bridge(instance)
        back = time.monotonic()
        self.say(
            f"chaos: {self._name(instance)} stopped in {stopped - stopping:.1f} s"
            + ("" if exited else " (SIGKILL after the grace period)")
            + f", answering again {back - stopped:.1f} s later"
        )
        return {
            "instance": instance.number,
            "stopped_at_s": self._at(stopping),
            "stop_s": round(stopped - stopping, 2),
            "exited_on_sigterm": exited,
            "start_s": round(back - stopped, 2),
            "start_attempts": attempts,
        }
