"""The benchmark's processes: the chaos run's stack, with a proxy of the driver's own on each side of
the bridge's LiveChat traffic.

The bridge reaches LiveChat (Customer Chat API, Configuration API, accounts) only through a
:class:`LatencyProxy`, which adds the configured round trip and counts and times every call; LiveChat's
webhooks reach the bridge through a second proxy with no delay, which notes when each came in. The
driver's own calls (the agents, the baselines) go to the emulator directly. The LiveChat emulator has a
second app whose chats the bridge never hears of, for the baselines, and rate limits are off: every
simulated customer shares one address, and the load is the point.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from livehandoff.bench.proxy import LatencyProxy
from livehandoff.chaos.processes import HOST, free_port
from livehandoff.chaos.stack import ChaosStack, SeededWorld

BENCH_ENV = {
    "LIVEHANDOFF_RATE_LIMIT_PER_CLIENT": "0",
    "LIVEHANDOFF_RATE_LIMIT_PER_CONVERSATION": "0",
}


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


@dataclass(frozen=True, slots=True)
class BenchWorld(SeededWorld):
    """The chaos run's organization plus an app for the baselines: chats it starts are not the
    bridge's (``only_my_chats``), so its traffic never reaches the bridge."""

    baseline_client_id: str = dataclasses.field(default_factory=lambda: secrets.token_hex(16))
    baseline_client_secret: str = dataclasses.field(default_factory=lambda: secrets.token_urlsafe(24))
    baseline_refresh_token: str = dataclasses.field(default_factory=lambda: secrets.token_urlsafe(24))

    def seed(self, max_chats: int) -> dict[str, Any]:
        seed = SeededWorld.seed(self, max_chats)
        seed["organizations"][0]["apps"].append(
            {
                "client_id": self.baseline_client_id,
                "client_secret": self.baseline_client_secret,
                "refresh_tokens": [{"token": self.baseline_refresh_token, "agent_id": self.agents[0].id}],
            }
        )
        return seed


class BenchStack(ChaosStack):
    """The LiveChat emulator behind :attr:`livechat_proxy`, the Dialogflow emulator, and the bridge
    behind :attr:`webhook_proxy` for LiveChat's webhooks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.livechat_proxy = LatencyProxy(0)
        self.webhook_proxy = LatencyProxy(0, port=free_port())

    async def _start_livechat(self) -> None:
        await super()._start_livechat()
        self.livechat_proxy.upstream_port = port_of(self.livechat_url)
        await self.livechat_proxy.start()

    def _bridge_env(self) -> dict[str, str]:
        self.webhook_proxy.upstream_port = port_of(self.bridge_url)
        return {
            **super()._bridge_env(),
            **BENCH_ENV,
            "LIVEHANDOFF_LIVECHAT_API_URL": self.livechat_proxy.url,
            "LIVEHANDOFF_LIVECHAT_ACCOUNTS_URL": self.livechat_proxy.url,
            # Webhooks are registered at the public URL: the proxy in front of the bridge.
            "LIVEHANDOFF_PUBLIC_URL": self.webhook_proxy.url,
        }

    async def start(self) -> None:
        await super().start()
        await self.webhook_proxy.start()

    def pids(self) -> dict[str, int]:
        """Each running process of the stack by name (``livechat``, ``dialogflow``, ``bridge``)."""
        return {
            child.name: child.process.pid
            for child in self._children
            if child.process is not None and child.running
        }

    @property
    def bridge_host_port(self) -> tuple[str, int]:
        return HOST, port_of(self.bridge_url)

    @property
    def livechat_host_port(self) -> tuple[str, int]:
        return HOST, port_of(self.livechat_url)

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            await self.webhook_proxy.aclose()
            await self.livechat_proxy.aclose()
