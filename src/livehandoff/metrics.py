"""What an operator watches, in Prometheus' text format (``GET /metrics``).

The bridge reports through the small ``ports.Meter`` port (what it stored, how long a relay took, what
became of a webhook); outbound calls are timed by ``MeteredTransport`` around the shared HTTP client, so
no client knows it is measured. Each app has a registry of its own. No metric carries a conversation id,
a text or a token: labels are a handful of fixed words.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from livehandoff.domain import feed
from livehandoff.domain.feed import FeedEvent
from livehandoff.domain.model import Conversation

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_METHOD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")

FUNNEL = {
    feed.HandoffRequested: "requested",
    feed.WaitingForAgent: "chat_opened",
    feed.AgentJoined: "agent_joined",
    feed.HandoffEnded: "ended",
    feed.HandoffFailed: "failed",
    feed.HandoffCancelled: "cancelled",
}


class Metrics:
    """The collectors of one app, and the ``ports.Meter`` the bridge reports to."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.handoffs = Counter(
            "livehandoff_handoffs",
            "Handoff steps: requested, chat_opened, agent_joined, ended, failed, cancelled",
            ["step"],
            registry=r,
        )
        self.handoff_failures = Counter(
            "livehandoff_handoff_failures", "Handoffs that found no agent, by reason", ["reason"], registry=r
        )
        self.handoffs_ended = Counter(
            "livehandoff_handoffs_ended",
            "Agent chats that ended, by who closed them",
            ["closed_by"],
            registry=r,
        )
        self.time_to_agent = Histogram(
            "livehandoff_time_to_agent_seconds",
            "From the handoff request to the agent joining",
            buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1800),
            registry=r,
        )
        self.relay = Histogram(
            "livehandoff_relay_seconds",
            "customer_message: accepted to routed (to bot or LiveChat); agent_message: webhook in to stored",
            ["direction"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.outbox_depth = Gauge("livehandoff_outbox_depth", "Customer messages not yet routed", registry=r)
        self.outbox_oldest = Gauge(
            "livehandoff_outbox_oldest_age_seconds", "Age of the oldest message not yet routed", registry=r
        )
        self.webhooks = Counter(
            "livehandoff_webhooks",
            "LiveChat webhooks: accepted, duplicate, parked, ignored, refused",
            ["outcome"],
            registry=r,
        )
        self.upstream_calls = Counter(
            "livehandoff_upstream_calls",
            "Calls to LiveChat and Dialogflow by method and outcome (ok, http_4xx, http_5xx, or the error)",
            ["service", "method", "outcome"],
            registry=r,
        )
        self.upstream_seconds = Histogram(
            "livehandoff_upstream_call_seconds",
            "Latency of calls to LiveChat and Dialogflow",
            ["service", "method"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.streams = Gauge(
            "livehandoff_event_streams_open", "Customers' event streams open now", registry=r
        )

    # --- ports.Meter ----------------------------------------------------------------------------

    def stored(self, conversation: Conversation, events: Iterable[FeedEvent], now: datetime) -> None:
        for event in events:
            step = FUNNEL.get(type(event.payload))
            if step is None:
                continue
            self.handoffs.labels(step).inc()
            payload = event.payload
            if isinstance(payload, feed.HandoffFailed):
                self.handoff_failures.labels(payload.reason).inc()
            elif isinstance(payload, feed.HandoffEnded):
                self.handoffs_ended.labels(payload.closed_by).inc()
            elif isinstance(payload, feed.AgentJoined) and conversation.handoff is not None:
                self.time_to_agent.observe(max(0.0, (now - conversation.handoff.started_at).total_seconds()))

    def relayed(self, direction: str, seconds: float) -> None:
        self.relay.labels(direction).observe(max(0.0, seconds))

    def webhook(self, outcome: str) -> None:
        self.webhooks.labels(outcome).inc()

    # --- scraping -------------------------------------------------------------------------------

    def backlog(self, depth: int, oldest: datetime | None, now: datetime) -> None:
        self.outbox_depth.set(depth)
        self.outbox_oldest.set(0.0 if oldest is None else max(0.0, (now - oldest).total_seconds()))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MeteredTransport(httpx.AsyncBaseTransport):
    """Times every outbound request of the shared HTTP client and counts its outcome.

    ``services`` maps a host (``api.livechatinc.com``) to the name shown (``livechat``); other hosts show
    as ``other``. The method is the last part of the path (``send_event``, ``detectIntent``, ``token``).
    """

    def __init__(
        self, inner: httpx.AsyncBaseTransport, metrics: Metrics, services: Mapping[str, str]
    ) -> None:
        self._inner = inner
        self._metrics = metrics
        self._services = dict(services)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        service = self._services.get(request.url.netloc.decode("ascii", "replace"), "other")
        method = _method(request.url.path)
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except Exception as exc:
            self._metrics.upstream_calls.labels(service, method, type(exc).__name__).inc()
            raise
        finally:
            self._metrics.upstream_seconds.labels(service, method).observe(time.perf_counter() - started)
        status = response.status_code
        outcome = "ok" if status < 400 else f"http_{status // 100}xx"
        self._metrics.upstream_calls.labels(service, method, outcome).inc()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def service_hosts(urls: Mapping[str, str]) -> dict[str, str]:
    """``{host: name}`` for the base URLs ``{name: url}`` of the services the bridge calls."""
    hosts: dict[str, str] = {}
    for name, url in urls.items():
        netloc = urlsplit(url).netloc
        if netloc:
            hosts.setdefault(netloc, name)
    return hosts


def _method(path: str) -> str:
    last = path.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return last if _METHOD.match(last) else "other"
