"""A round-robin TCP proxy in front of the chaos run's bridge instances, as a load balancer would be.

Each new client connection goes to the next instance not marked down; when that instance does not
accept it (just killed, still starting), the next one is tried. Bytes are copied both ways until either
side closes, and then both are closed: a connection cut at an instance (a kill, a stop) is cut for the
client too, who connects again — through the proxy, so to whichever instance is next. HTTP clients do
not half-close, so closing both at the first end loses nothing.

Nothing is parsed, except that the first request line of each connection is looked at to count, per
instance, event streams, LiveChat's webhook deliveries and other requests for the report, and to time,
per kind, how long the first request waited for the first byte of its answer (an instance slow to
answer webhooks shows there before LiveChat gives up on them).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

CONNECT_SECONDS = 2.0
CHUNK_BYTES = 1 << 16


def request_kind(first_chunk: bytes) -> str:
    """What a connection's first request is: ``stream``, ``webhook`` or ``api``."""
    line = first_chunk.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    if len(parts) < 2:
        return "api"
    method, path = parts[0], parts[1].split(b"?", 1)[0]
    if method == b"GET" and path.endswith(b"/events"):
        return "stream"
    if method == b"POST" and path.startswith(b"/webhooks/"):
        return "webhook"
    return "api"


class RoundRobinProxy:
    """Listens on ``host``; spreads connections over ``upstreams`` (``(host, port)``, one per instance)."""

    def __init__(self, upstreams: Sequence[tuple[str, int]], *, host: str) -> None:
        self._upstreams = list(upstreams)
        self._host = host
        self._next = 0
        self._down: set[int] = set()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self.port = 0
        self.routed: Counter[tuple[int, str]] = Counter()
        """Connections per (instance index, kind of their first request)."""
        self.refused = 0
        """Connections an instance did not accept, handed to the next one."""
        self.unserved = 0
        """Connections no instance accepted: closed at once."""
        self.first_answer_s: defaultdict[str, list[float]] = defaultdict(list)
        """Per kind, seconds from a connection's first request to the first byte of its answer."""
        self.unanswered: Counter[str] = Counter()
        """Per kind, connections that ended with their first request unanswered (cut, or given up)."""

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def mark(self, index: int, *, down: bool) -> None:
        """Send no new connections to instance ``index`` (it is being stopped), or send them again."""
        if down:
            self._down.add(index)
        else:
            self._down.discard(index)

    def stats(self) -> dict[str, Any]:
        per_instance: dict[str, dict[str, int]] = {}
        for (index, kind), count in sorted(self.routed.items()):
            per_instance.setdefault(str(index + 1), {})[kind] = count
        return {
            "connections": per_instance,
            "refused": self.refused,
            "unserved": self.unserved,
            "unanswered": dict(sorted(self.unanswered.items())),
        }

    async def aclose(self) -> None:
        """Stop listening and cut every connection still open."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _order(self) -> list[int]:
        """Instances to try for the next connection: round robin from the next one, live ones only."""
        start = self._next
        self._next = (self._next + 1) % len(self._upstreams)
        count = len(self._upstreams)
        return [i for i in ((start + n) % count for n in range(count)) if i not in self._down]

    async def _open(self) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter] | None:
        for index in self._order():
            host, port = self._upstreams[index]
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_SECONDS)
            except (OSError, TimeoutError):
                self.refused += 1
                continue
            return index, reader, writer
        return None

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            opened = await self._open()
            if opened is None:
                self.unserved += 1
                return
            index, upstream_reader, upstream_writer = opened
            await self._relay(index, client_reader, client_writer, upstream_reader, upstream_writer)
        finally:
            self._connections.discard(task)
            await _close(client_writer)
            if upstream_writer is not None:
                await _close(upstream_writer)

    async def _relay(
        self,
        index: int,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream_writer: asyncio.StreamWriter,
    ) -> None:
        """Copy both ways until one side ends."""
        asked: list[tuple[str, float]] = []
        answered: list[float] = []

        def first_request(chunk: bytes) -> None:
            kind = request_kind(chunk)
            self.routed[(index, kind)] += 1
            asked.append((kind, time.monotonic()))

        def first_answer(chunk: bytes) -> None:
            answered.append(time.monotonic())

        pumps = {
            asyncio.create_task(_copy(client_reader, upstream_writer, first_request)),
            asyncio.create_task(_copy(upstream_reader, client_writer, first_answer)),
        }
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            if asked:
                kind, at = asked[0]
                if answered and answered[0] >= at:
                    self.first_answer_s[kind].append(answered[0] - at)
                else:
                    self.unanswered[kind] += 1


async def _copy(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    on_first: Callable[[bytes], None] | None = None,
) -> None:
    """Until end of stream or a broken connection on either side."""
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await reader.read(CHUNK_BYTES):
            if on_first is not None:
                on_first(chunk)
                on_first = None
            writer.write(chunk)
            await writer.drain()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()
