"""The composition root: open every resource the app needs, and close them in reverse order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import httpx
import structlog

from livehandoff.bridge import Bridge, BridgeOptions
from livehandoff.config import Settings
from livehandoff.feed import InMemoryFeed, PostgresFeed
from livehandoff.feed.postgres import CHANNEL as FEED_CHANNEL
from livehandoff.integrations.dialogflow import DialogflowCX, DialogflowES, cx_endpoint
from livehandoff.integrations.dialogflow.credentials import load_credentials
from livehandoff.integrations.livechat import LiveChatClient, LiveChatDesk, TokenManager, ensure_webhooks
from livehandoff.metrics import MeteredTransport, Metrics, service_hosts
from livehandoff.ports import BotEngine, CustomerFeed
from livehandoff.storage import SqlStore, open_store

log = structlog.get_logger("livehandoff.services")

WEBHOOK_PATH = "/webhooks/livechat"
LINGER_SECONDS = 2.0
"""With several instances, how long a conversation's outbox worker keeps its lease for the next message."""


@dataclass(frozen=True, slots=True)
class Services:
    """What the web edge hands requests to."""

    settings: Settings
    bridge: Bridge
    store: SqlStore
    """For ``/readyz`` (is the database there and migrated) and ``/metrics`` (the outbox backlog)."""
    tokens: TokenManager
    """For ``/readyz``: whether a LiveChat agent token can be obtained."""
    metrics: Metrics = field(default_factory=Metrics)


def bot_engine(settings: Settings, http: httpx.AsyncClient) -> BotEngine:
    """The Dialogflow edition the settings name. A regional agent without an explicit endpoint gets its
    location's Google endpoint."""
    endpoint = cx_endpoint(settings.dialogflow_location or "global", settings.dialogflow_api_endpoint)
    credentials = load_credentials(
        endpoint=endpoint, credentials_file=settings.google_application_credentials
    )
    if settings.dialogflow_edition == "cx":
        return DialogflowCX(
            http,
            project_id=settings.dialogflow_project_id,
            agent_id=settings.dialogflow_agent_id,
            location=settings.dialogflow_location or "global",
            environment=settings.dialogflow_environment,
            endpoint=endpoint,
            credentials=credentials,
        )
    return DialogflowES(
        http,
        endpoint=endpoint,
        project_id=settings.dialogflow_project_id,
        location=settings.dialogflow_location,
        environment=settings.dialogflow_environment,
        credentials=credentials,
    )


@asynccontextmanager
async def open_services(
    settings: Settings, *, http: httpx.AsyncClient | None = None
) -> AsyncIterator[Services]:
    """Open the store, one pooled HTTP client for every outbound call, the adapters and the bridge."""
    metrics = Metrics()
    async with AsyncExitStack() as stack:
        if http is None:
            limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
            transport = MeteredTransport(
                httpx.AsyncHTTPTransport(limits=limits), metrics, _service_hosts(settings)
            )
            http = await stack.enter_async_context(
                httpx.AsyncClient(timeout=settings.http_timeout_seconds, transport=transport)
            )
        store = await open_store(settings.database_url)
        stack.push_async_callback(store.close)
        postgres = store.engine.dialect.name == "postgresql"
        if postgres:
            store.notify_on_save(FEED_CHANNEL)
        feed = await _open_feed(settings, stack, postgres=postgres)
        livechat = LiveChatClient.from_settings(http, settings)
        tokens = TokenManager.from_settings(livechat, settings)
        bridge = Bridge(
            conversations=store,
            outbox=store,
            intake=store,
            leases=store,
            bot=bot_engine(settings, http),
            desk=LiveChatDesk(livechat, tokens=tokens, group_id=settings.livechat_group_id),
            feed=feed,
            meter=metrics,
            options=BridgeOptions(
                policy=settings.handoff_policy(),
                group_id=settings.livechat_group_id,
                queue_refresh_seconds=settings.queue_refresh_seconds,
                linger_seconds=LINGER_SECONDS if postgres else 0.0,
            ),
        )
        stack.push_async_callback(bridge.aclose)
        await bridge.start(single_instance=store.engine.dialect.name == "sqlite")
        if settings.livechat_register_webhooks:
            # Instances starting together: one registers, the others find the registrations in place.
            async with bridge.exclusively("webhooks:register") as ours:
                if ours:
                    registered = await ensure_webhooks(
                        livechat,
                        tokens=tokens,
                        url=settings.public_url + WEBHOOK_PATH,
                        secret=settings.livechat_webhook_secret.get_secret_value(),
                        owner_client_id=settings.livechat_client_id,
                    )
                    log.info("webhooks.ensured", registered=registered)
        yield Services(settings=settings, bridge=bridge, store=store, tokens=tokens, metrics=metrics)


def _service_hosts(settings: Settings) -> dict[str, str]:
    return service_hosts(
        {
            "livechat": settings.livechat_api_url,
            "livechat_accounts": settings.livechat_accounts_url,
            "dialogflow": settings.dialogflow_api_endpoint,
        }
    )


async def _open_feed(settings: Settings, stack: AsyncExitStack, *, postgres: bool) -> CustomerFeed:
    """On PostgreSQL every instance hears every other's events (``LISTEN``/``NOTIFY``); on SQLite, which
    serves one instance, the process's own readers are all there is."""
    if not postgres:
        return InMemoryFeed()
    feed = PostgresFeed(settings.database_url, notify_on_publish=False)
    await feed.start()
    stack.push_async_callback(feed.aclose)
    return feed
