"""The chaos run's stack: both emulators and the bridge — one instance, or several on one PostgreSQL
database behind a round-robin proxy (:mod:`.proxy`) — each a ``livehandoff`` process on loopback
(:mod:`.processes`).

A bridge instance can be killed with ``SIGKILL`` or stopped with ``SIGTERM`` and started again on the same
port and database while the rest of the stack and the driver carry on. Every process is stopped when the
stack closes, however the run ends.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from livehandoff.chaos.processes import HOST, STOP_SECONDS, Child, StackError, free_port, wait_http
from livehandoff.chaos.proxy import RoundRobinProxy
from livehandoff.storage import tables
from livehandoff.storage.engine import normalise_url

__all__ = ["ChaosStack", "Instance", "SeededAgent", "SeededWorld", "StackError"]

DIALOGFLOW_PROJECT = "livehandoff-demo"
BRIDGE_START_ATTEMPTS = 5
"""The bridge registers its webhooks at start-up through the accounts service, which faults may fail."""
AGENT_MAX_CHATS = 60
SEVERAL_NEED_POSTGRES = (
    "several instances need a PostgreSQL database: pass --database-url postgresql+asyncpg://…"
)


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


@dataclass(slots=True)
class Instance:
    """One bridge process (``livehandoff serve``) on a port of its own."""

    number: int
    """1, 2, … as the report and the logs (``bridge-<number>.log``) name it."""
    port: int
    child: Child
    starts: int = field(default=0)

    @property
    def index(self) -> int:
        return self.number - 1

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


class ChaosStack:
    """The LiveChat emulator, the Dialogflow emulator and the bridge's instances, started in that order."""

    def __init__(
        self,
        workdir: Path,
        world: SeededWorld,
        *,
        max_chats: int = AGENT_MAX_CHATS,
        database_url: str = "",
        instances: int = 1,
        redis_url: str = "",
    ) -> None:
        self.workdir = workdir
        self.world = world
        self.max_chats = max_chats
        self.database_url = database_url or f"sqlite+aiosqlite:///{workdir / 'bridge.sqlite3'}"
        """The bridge's database (a SQLite file in ``workdir`` unless another is named)."""
        if instances < 1:
            raise ValueError("the bridge needs at least one instance")
        if instances > 1 and normalise_url(self.database_url).get_backend_name() != "postgresql":
            raise StackError(SEVERAL_NEED_POSTGRES)
        self.instance_count = instances
        self.redis_url = redis_url
        self.livechat_url = ""
        self.dialogflow_url = ""
        self.bridge_url = ""
        """Where customers and LiveChat's webhooks reach the bridge: the proxy, or the one instance."""
        self.organization_id = ""
        self.webhook_secret = secrets.token_urlsafe(24)
        self.instances: list[Instance] = []
        self.proxy: RoundRobinProxy | None = None
        self._children: list[Child] = []

    @property
    def admin(self) -> SeededAgent:
        """The agent whose PAT opens ``/emulator/faults``."""
        return self.world.agents[0]

    @property
    def bridge_logs(self) -> list[Path]:
        return [instance.child.log_path for instance in self.instances]

    @property
    def bridge_starts(self) -> int:
        return sum(instance.starts for instance in self.instances)

    async def start(self) -> None:
        await self._start_livechat()
        await self._start_dialogflow()
        ports = [free_port() for _ in range(self.instance_count)]
        if self.instance_count > 1:
            self.proxy = RoundRobinProxy([(HOST, port) for port in ports], host=HOST)
            await self.proxy.start()
            self.bridge_url = self.proxy.url
        else:
            self.bridge_url = f"http://{HOST}:{ports[0]}"
        for number, port in enumerate(ports, start=1):
            name = "bridge" if self.instance_count == 1 else f"bridge-{number}"
            child = self._child(name, ["serve", "--host", HOST, "--port", str(port)])
            child.env.update(self._bridge_env())
            self.instances.append(Instance(number, port, child))
        try:
            async with asyncio.TaskGroup() as group:  # together, as a first deploy starts them
                for instance in self.instances:
                    group.create_task(self.start_bridge(instance))
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None

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
        """The settings ``devstack`` gives an in-process bridge, as ``LIVEHANDOFF_*`` variables. The public
        URL is the proxy's, so LiveChat's webhooks reach any instance."""
        env = {
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
        if self.redis_url:
            env["LIVEHANDOFF_REDIS_URL"] = self.redis_url
        return env

    def instance(self, number: int = 1) -> Instance:
        return self.instances[number - 1]

    async def start_bridge(self, instance: Instance | None = None) -> int:
        """Start an instance and wait until it answers ``/healthz``, then let the proxy send it
        connections; returns how many starts it took.

        A start can fail for reasons that are part of the weather (the token for registering webhooks
        refused by a faulty accounts service), so it is tried a few times before giving up.
        """
        instance = instance or self.instance()
        for attempt in range(1, BRIDGE_START_ATTEMPTS + 1):
            instance.starts += 1
            await instance.child.start()
            try:
                await wait_http(instance.child, f"{instance.url}/healthz")
            except StackError:
                await instance.child.stop()
                if attempt == BRIDGE_START_ATTEMPTS:
                    raise
                continue
            if self.proxy is not None:
                self.proxy.mark(instance.index, down=False)
            return attempt
        raise AssertionError("unreachable")  # pragma: no cover

    async def kill_bridge(self, instance: Instance | None = None) -> None:
        """``SIGKILL``. The proxy is not told: like a load balancer, it finds the port closed and moves on."""
        await (instance or self.instance()).child.kill()

    async def stop_bridge(self, instance: Instance, *, grace: float = STOP_SECONDS) -> bool:
        """Take the instance out of the proxy's rotation, then ``SIGTERM`` it, as a deploy does; whether it
        exited by itself within ``grace`` seconds (else it got ``SIGKILL``)."""
        if self.proxy is not None:
            self.proxy.mark(instance.index, down=True)
        return await instance.child.stop(grace)

    async def sending_instance(self) -> Instance | None:
        """The instance that holds the outbox lease of a conversation whose message has a LiveChat
        attempt begun and not settled — most likely the one whose call hangs. A lease's owner is
        ``host:pid:random`` (``leases.instance_name``); read from the shared database."""
        outbox, leases = tables.outbox, tables.leases
        query = (
            select(leases.c.owner, func.count())
            .select_from(leases.join(outbox, leases.c.key == literal("outbox:") + outbox.c.conversation_id))
            .where(outbox.c.started_at.is_not(None))
            .group_by(leases.c.owner)
            .order_by(func.count().desc())
        )
        engine = create_async_engine(normalise_url(self.database_url), poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                owners = [str(row[0]) for row in await connection.execute(query)]
        finally:
            await engine.dispose()
        by_pid = {str(instance.child.pid): instance for instance in self.instances if instance.child.pid}
        for owner in owners:
            pid = owner.rsplit(":", 2)[-2] if owner.count(":") >= 2 else ""
            if pid in by_pid:
                return by_pid[pid]
        return None

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time each process of the stack used so far."""
        return {child.name: round(child.cpu_seconds, 1) for child in self._children}

    async def aclose(self) -> None:
        """Stop every process, the bridge's instances first (they talk to the others), then the proxy."""
        for child in reversed(self._children):
            await child.stop()
        if self.proxy is not None:
            await self.proxy.aclose()
