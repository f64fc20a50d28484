"""The chaos run's stack: both emulators and the bridge, each a ``livehandoff`` subprocess on loopback
(:mod:`.processes`).

The bridge can be killed with ``SIGKILL`` and started again on the same port and database while the
emulators and the driver carry on. Every process is stopped when the stack closes, however the run ends.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livehandoff.chaos.processes import HOST, Child, StackError, free_port, wait_http

__all__ = ["ChaosStack", "SeededAgent", "SeededWorld", "StackError"]

DIALOGFLOW_PROJECT = "livehandoff-demo"
BRIDGE_START_ATTEMPTS = 5
"""The bridge registers its webhooks at start-up through the accounts service, which faults may fail."""
AGENT_MAX_CHATS = 60


@dataclass(frozen=True, slots=True)
class SeededAgent:
    """An emulator agent the driver acts as (Agent Chat API with its PAT)."""

    id: str
    name: str
    account_id: str
    pat: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.account_id, self.pat)


@dataclass(frozen=True, slots=True)
class SeededWorld:
    """The seed file's organization: agents to serve every conversation at once, and the bridge's app."""

    agents: tuple[SeededAgent, ...]
    client_id: str
    client_secret: str
    refresh_token: str

    @classmethod
    def create(cls, agents: int) -> SeededWorld:
        return cls(
            agents=tuple(
                SeededAgent(
                    id=f"agent{n:03d}@chaos.example",
                    name=f"Agent {n:03d}",
                    account_id=str(uuid.uuid4()),
                    pat=f"dal:chaos-{secrets.token_urlsafe(16)}",
                )
                for n in range(1, agents + 1)
            ),
            client_id=secrets.token_hex(16),
            client_secret=secrets.token_urlsafe(24),
            refresh_token=secrets.token_urlsafe(24),
        )

    def seed(self, max_chats: int) -> dict[str, Any]:
        """The emulator's ``--seed`` file (docs/emulators.md)."""
        agents = [
            {
                "id": agent.id,
                "name": agent.name,
                "account_id": agent.account_id,
                "pat": agent.pat,
                "max_chats_count": max_chats,
            }
            for agent in self.agents
        ]
        app = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_tokens": [{"token": self.refresh_token, "agent_id": self.agents[0].id}],
        }
        return {"organizations": [{"agents": agents, "apps": [app]}]}

    def agent(self, agent_id: str) -> SeededAgent | None:
        return next((agent for agent in self.agents if agent.id == agent_id), None)


class ChaosStack:
    """The LiveChat emulator, the Dialogflow emulator and the bridge, started in that order."""

    def __init__(
        self,
        workdir: Path,
        world: SeededWorld,
        *,
        max_chats: int = AGENT_MAX_CHATS,
        database_url: str = "",
    ) -> None:
        self.workdir = workdir
        self.world = world
        self.max_chats = max_chats
        self.database_url = database_url or f"sqlite+aiosqlite:///{workdir / 'bridge.sqlite3'}"
        """The bridge's database (a SQLite file in ``workdir`` unless another is named)."""
        self.livechat_url = ""
        self.dialogflow_url = ""
        self.bridge_url = ""
        self.organization_id = ""
        self.webhook_secret = secrets.token_urlsafe(24)
        self.bridge_starts = 0
        self._children: list[Child] = []
        self._bridge: Child | None = None

    @property
    def admin(self) -> SeededAgent:
        """The agent whose PAT opens ``/emulator/faults``."""
        return self.world.agents[0]

    @property
    def bridge_log(self) -> Path:
        return self.workdir / "bridge.log"

    async def start(self) -> None:
        await self._start_livechat()
        await self._start_dialogflow()
        self._bridge = self._child("bridge", ["serve", "--host", HOST, "--port", str(free_port())])
        port = self._bridge.args[-1]
        self.bridge_url = f"http://{HOST}:{port}"
        self._bridge.env.update(self._bridge_env())
        await self.start_bridge()

    async def _start_livechat(self) -> None:
        seed_path = self.workdir / "seed.json"
        seed_path.write_text(json.dumps(self.world.seed(self.max_chats)), encoding="utf-8")
        port = free_port()
        child = self._child(
            "livechat", ["emulate", "livechat", "--port", str(port), "--seed", str(seed_path)]
        )
        await child.start(stdout_pipe=True)
        credentials = json.loads(await child.first_line())
        self.organization_id = credentials["organization_id"]
        self.livechat_url = f"http://{HOST}:{port}"
        await wait_http(child, f"{self.livechat_url}/emulator/faults", auth=self.admin.auth)

    async def _start_dialogflow(self) -> None:
        port = free_port()
        child = self._child("dialogflow", ["emulate", "dialogflow", "--port", str(port)])
        await child.start()
        self.dialogflow_url = f"http://{HOST}:{port}"
        await wait_http(child, self.dialogflow_url)

    def _child(self, name: str, args: list[str]) -> Child:
        env = {key: value for key, value in os.environ.items() if not key.startswith("LIVEHANDOFF_")}
        child = Child(name, args, self.workdir / f"{name}.log", env)
        self._children.append(child)
        return child

    def _bridge_env(self) -> dict[str, str]:
        """The settings ``devstack`` gives an in-process bridge, as ``LIVEHANDOFF_*`` variables."""
        return {
            "LIVEHANDOFF_DATABASE_URL": self.database_url,
            "LIVEHANDOFF_PUBLIC_URL": self.bridge_url,
            "LIVEHANDOFF_LIVECHAT_API_URL": self.livechat_url,
            "LIVEHANDOFF_LIVECHAT_ACCOUNTS_URL": self.livechat_url,
            "LIVEHANDOFF_LIVECHAT_CLIENT_ID": self.world.client_id,
            "LIVEHANDOFF_LIVECHAT_CLIENT_SECRET": self.world.client_secret,
            "LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN": self.world.refresh_token,
            "LIVEHANDOFF_LIVECHAT_ORGANIZATION_ID": self.organization_id,
            "LIVEHANDOFF_LIVECHAT_WEBHOOK_SECRET": self.webhook_secret,
            "LIVEHANDOFF_DIALOGFLOW_API_ENDPOINT": self.dialogflow_url,
            "LIVEHANDOFF_DIALOGFLOW_PROJECT_ID": DIALOGFLOW_PROJECT,
            "GOOGLE_APPLICATION_CREDENTIALS": "",
            "LIVEHANDOFF_GOOGLE_APPLICATION_CREDENTIALS": "",
            # Every simulated customer shares one loopback address: a per-address budget would throttle
            # the run, not protect anything. The per-conversation budget stays as deployed.
            "LIVEHANDOFF_RATE_LIMIT_PER_CLIENT": "0",
            "LIVEHANDOFF_LOG_LEVEL": "INFO",
        }

    async def start_bridge(self) -> int:
        """Start the bridge and wait until it answers; returns how many starts it took.

        A start can fail for reasons that are part of the weather (the token for registering webhooks
        refused by a faulty accounts service), so it is tried a few times before giving up.
        """
        assert self._bridge is not None
        for attempt in range(1, BRIDGE_START_ATTEMPTS + 1):
            self.bridge_starts += 1
            await self._bridge.start()
            try:
                await wait_http(self._bridge, f"{self.bridge_url}/healthz")
            except StackError:
                await self._bridge.stop()
                if attempt == BRIDGE_START_ATTEMPTS:
                    raise
                continue
            return attempt
        raise AssertionError("unreachable")  # pragma: no cover

    async def kill_bridge(self) -> None:
        assert self._bridge is not None
        await self._bridge.kill()

    async def aclose(self) -> None:
        """Stop every process, the bridge first (it talks to the others)."""
        for child in reversed(self._children):
            await child.stop()
