"""The chaos run's child processes: each a ``livehandoff`` subprocess on loopback with its output in a log.

Separate processes, so that a bridge can be killed with ``SIGKILL`` — no shutdown handler, no flush,
nothing but what its database already holds — or stopped with ``SIGTERM`` as a deploy would, and
started again on the same port and database while the others carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx

T = TypeVar("T")

HOST = "127.0.0.1"
START_SECONDS = 60.0
"""How long a process may take to answer HTTP after it was started."""
STOP_SECONDS = 10.0
"""How long a process may take to exit after ``SIGTERM`` before it gets ``SIGKILL``."""


class StackError(RuntimeError):
    """A process of the stack could not be started."""


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
        self._cpu_spent = 0.0

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

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.running and self.process is not None else None

    @property
    def cpu_seconds(self) -> float:
        """CPU time (user and system) of every run of this process so far, as far as ``/proc`` shows it
        (the last moments of a stopped run are not counted)."""
        return self._cpu_spent + self._cpu_now()

    def _cpu_now(self) -> float:
        pid = self.pid
        if pid is None:
            return 0.0
        try:
            stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
        except OSError:  # not Linux, or already gone
            return 0.0
        fields = stat.rpartition(")")[2].split()  # the name may hold spaces; fields 3… follow it
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

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
        self._cpu_spent += self._cpu_now()
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
        await self._close_log()

    async def stop(self, grace: float = STOP_SECONDS) -> bool:
        """``SIGTERM``, then ``SIGKILL`` if it is still there after ``grace`` seconds; whether it exited
        by itself."""
        self._cpu_spent += self._cpu_now()
        process = self.process
        exited = True
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                exited = False
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        await self._close_log()
        return exited

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


async def interruptible(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work``, cancelling it on ``SIGTERM`` as Ctrl-C does, so the stack's processes are stopped."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await work
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
