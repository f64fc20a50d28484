"""Webhook delivery: match registered webhooks, build the v3.6 envelope, POST it in the background.

Envelope (reference §5.1): ``webhook_id``, ``secret_key``, ``action``, ``organization_id``,
``payload`` and ``additional_data`` (always present, ``{}`` when nothing was requested — the
official Python parser requires the key). Only HTTP 200 counts as delivered; any other status,
a timeout (10 s) or a transport error is retried after each of ``retry_delays`` (three retries
within about a minute by default). Deliveries run as independent tasks, so like LiveChat's
they may arrive out of order.

Injected faults (:mod:`.faults`) reach a delivery as its :class:`DeliveryPlan`, decided when the
change happens: a delay before the first attempt, holding it back until a later delivery of the
same chat has been sent (reordering), losing its first attempts (they are logged, not sent, and
the normal retries deliver it), and sending it once more after it was delivered (duplication).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import structlog

from livehandoff.emulators.livechat.model import Webhook
from livehandoff.emulators.livechat.notify import Notification
from livehandoff.emulators.livechat.state import EmulatorState
from livehandoff.emulators.livechat.webhook_filters import additional_data, matches

DEFAULT_RETRY_DELAYS = (5.0, 20.0, 35.0)
DELIVERY_TIMEOUT = 10.0

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One POST of one webhook; ``status`` is ``None`` when no answer came back."""

    webhook_id: str
    action: str
    url: str
    attempt: int
    status: int | None
    error: str | None = None
    fault: str | None = None
    """``"drop"`` (not sent) or ``"duplicate"`` (sent again) when an injected fault made this attempt."""

    @property
    def delivered(self) -> bool:
        """Only 200 counts (reference §5.1)."""
        return self.status == 200


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    """How one delivery departs from a faithful one; the defaults do not.

    ``order_key`` and ``sequence`` place it among the deliveries of its chat to the same URL, so
    that a held-back delivery knows when a later one has overtaken it.
    """

    order_key: tuple[str, str] = ("", "")
    sequence: int = 0
    delay: float = 0.0
    hold: float = 0.0
    drops: int = 0
    duplicate: bool = False


class DeliveryFaults(Protocol):
    """The fault injector as the dispatcher sees it."""

    def plan_delivery(self, webhook: Webhook, note: Notification) -> DeliveryPlan:
        """Decide, at the moment of the change, how this delivery misbehaves."""
        ...

    async def wait_overtaken(self, plan: DeliveryPlan) -> None:
        """Return once a later delivery of the same chat was sent, or after ``plan.hold`` seconds."""
        ...

    def sent(self, plan: DeliveryPlan) -> None:
        """A delivery was POSTed: deliveries of its chat held back before it may go."""
        ...


class WebhookDispatcher:
    """Fans changes out to matching webhooks and keeps track of pending deliveries."""

    def __init__(
        self,
        state: EmulatorState,
        *,
        client: httpx.AsyncClient | None = None,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        timeout: float = DELIVERY_TIMEOUT,
        faults: DeliveryFaults | None = None,
    ) -> None:
        self._state = state
        self._faults = faults
        self._client = client
        self._owned_client: httpx.AsyncClient | None = None
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.attempts: list[DeliveryAttempt] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def set_client(self, client: httpx.AsyncClient) -> None:
        """Deliver through this client from now on (tests pass one with an ASGI transport)."""
        self._client = client

    def notify(self, note: Notification) -> None:
        """Schedule one delivery per matching webhook; called synchronously by the notifier."""
        org = self._state.organization(note.organization_id)
        if org is None:
            return
        for webhook in list(org.webhooks.values()):
            if webhook.owner_client_id in org.webhooks_disabled_for or not matches(webhook, note):
                continue
            envelope = {
                "webhook_id": webhook.id,
                "secret_key": webhook.secret_key,
                "action": note.action,
                "organization_id": note.organization_id,
                "payload": note.payload,
                "additional_data": additional_data(webhook, note),
            }
            plan = self._faults.plan_delivery(webhook, note) if self._faults else DeliveryPlan()
            self._schedule(webhook, envelope, plan)

    def _schedule(self, webhook: Webhook, envelope: dict[str, Any], plan: DeliveryPlan) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(webhook, envelope, plan))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, webhook: Webhook, envelope: dict[str, Any], plan: DeliveryPlan) -> None:
        if plan.delay > 0:
            await asyncio.sleep(plan.delay)
        if plan.hold > 0 and self._faults is not None:
            await self._faults.wait_overtaken(plan)
        delays = (0.0, *self.retry_delays)
        for number, delay in enumerate(delays, start=1):
            if delay > 0:
                await asyncio.sleep(delay)
            if number <= plan.drops:
                self._record(webhook, number, None, "lost before sending", fault="drop")
                continue
            delivered = await self.attempt(webhook, envelope, number)
            if self._faults is not None:
                self._faults.sent(plan)
            if delivered:
                if plan.duplicate:
                    await self.attempt(webhook, envelope, number, fault="duplicate")
                return
        log.warning("webhook.undelivered", webhook_id=webhook.id, action=webhook.action, attempts=len(delays))

    async def attempt(
        self, webhook: Webhook, envelope: dict[str, Any], number: int, *, fault: str | None = None
    ) -> bool:
        """One POST of one envelope; ``fault`` marks a copy sent by fault injection."""
        client = self._client or self._own_client()
        try:
            response = await client.post(webhook.url, json=envelope, timeout=self.timeout)
        except Exception as exc:  # any failure of the receiver is "no 200" to LiveChat
            self._record(webhook, number, None, f"{type(exc).__name__}: {exc}", fault=fault)
            return False
        self._record(webhook, number, response.status_code, None, fault=fault)
        return response.status_code == 200

    def _record(
        self,
        webhook: Webhook,
        number: int,
        status: int | None,
        error: str | None,
        *,
        fault: str | None = None,
    ) -> None:
        attempt = DeliveryAttempt(webhook.id, webhook.action, webhook.url, number, status, error, fault)
        self.attempts.append(attempt)
        log.debug(
            "webhook.attempt",
            webhook_id=webhook.id,
            action=webhook.action,
            attempt=number,
            status=status,
            fault=fault,
        )

    def _own_client(self) -> httpx.AsyncClient:
        if self._owned_client is None:
            self._owned_client = httpx.AsyncClient(timeout=self.timeout)
        return self._owned_client

    @property
    def pending(self) -> int:
        """Deliveries still running or waiting to retry."""
        return len(self._tasks)

    async def wait_idle(self) -> None:
        """Return once nothing is pending, including deliveries scheduled meanwhile."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel pending deliveries and close the client this dispatcher created."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._owned_client is not None:
            await self._owned_client.aclose()
            self._owned_client = None
