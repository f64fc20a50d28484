"""The chaos run's processes: both emulators and the bridge, each a ``livehandoff`` subprocess on loopback.

Separate processes, so that the bridge can be killed with ``SIGKILL`` — no shutdown handler, no flush,
nothing but what its database already holds — and started again on the same port and database while
the emulators and the driver carry on. Every process is stopped when the stack closes, however the run
ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

HOST = "127.0.0.1"
DIALOGFLOW_PROJECT = "livehandoff-demo"
START_SECONDS = 60.0
"""How long a process may take to answer HTTP after it was started."""
STOP_SECONDS = 10.0
BRIDGE_START_ATTEMPTS = 5
"""The bridge registers its webhooks at start-up through the accounts service, which faults may fail."""
AGENT_MAX_CHATS = 60


class StackError(RuntimeError):
    """A process of the stack could not be started."""


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


def free_port() -> int:
    """A port nobody listens on now; the child binds it a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Child:
    """One ``livehandoff`` subprocess with its output in a log file."""

    def __init__(self, name: str, args: list[str], log_path: Path, env: dict[str, str]) -> None:
        self.name = name
        self.args = args
        self.log_path = log_path
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None
        self._copying: asyncio.Task[None] | None = None

    async def start(self, *, stdout_pipe: bool = False) -> None:
        self._log = self.log_path.open("ab")
        self._log.write(f"--- {self.name} starting at {time.strftime('%H:%M:%S')}\n".encode())
        self._log.flush()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "livehandoff",
            *self.args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if stdout_pipe else self._log,
            stderr=self._log,
            env=self.env,
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def first_line(self) -> str:
        """The first line of stdout (the LiveChat emulator prints its credentials there); the rest is
        copied to the log, since a pipe nobody reads fills up and blocks the child's next write."""
        assert self.process is not None
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), START_SECONDS)
        if not line:
            raise StackError(f"{self.name} stopped before printing anything; see {self.log_path}")
        self._copying = asyncio.create_task(self._copy_stdout(self.process.stdout))
        return line.decode()

    async def _copy_stdout(self, stdout: asyncio.StreamReader) -> None:
        while chunk := await stdout.read(1 << 16):
            if self._log is not None:
                self._log.write(chunk)

    async def kill(self) -> None:
        """``SIGKILL``, as a crash or an OOM kill would end it."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
        await self._close_log()

    async def stop(self) -> None:
        """``SIGTERM``, then ``SIGKILL`` if it is still there after a grace period."""
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        await self._close_log()

    async def _close_log(self) -> None:
        if self._copying is not None:
            await self._copying  # ends at the end of the stream, which the process's exit closes
            self._copying = None
        if self._log is not None:
            self._log.close()
            self._log = None


async def wait_http(child: Child, url: str, *, auth: tuple[str, str] | None = None) -> None:
    """Until ``url`` answers anything at all; fails early when the process has died."""
    deadline = time.monotonic() + START_SECONDS
    async with httpx.AsyncClient(timeout=5) as http:
        while time.monotonic() < deadline:
            if not child.running:
                raise StackError(f"{child.name} exited while starting; see {child.log_path}")
            try:
                await http.get(url, auth=auth)
            except httpx.TransportError:
                await asyncio.sleep(0.1)
                continue
            return
    raise StackError(f"{child.name} did not answer within {START_SECONDS:.0f} s; see {child.log_path}")


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
