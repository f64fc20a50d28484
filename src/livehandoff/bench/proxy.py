"""A latency-injecting HTTP proxy that counts and times every request it relays.

Put in front of the LiveChat emulator, it stands for the network between the bridge and LiveChat: each
request waits half the configured round trip before it goes upstream and the other half before its
answer goes back, so a call costs one round trip whatever the connection's age (connection set-up is
not charged: the bridge keeps its connections open). It counts requests per LiveChat API method and,
while recording, keeps each request's start and end, so the round trips a handoff waits for one after
the other can be counted (:func:`sequential_round_trips`).

Put in front of the bridge with no delay, it tells when each LiveChat webhook came in (``observe``).
It relays one request at a time per connection, as HTTP/1.1 clients without pipelining send them;
streaming responses are not relayed (nothing the proxies stand between streams).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from livehandoff.bench.http1 import Head, ProtocolError, read_body, read_head

HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Call:
    """One relayed request: its method name, status, and when it came in and when its answer left
    (``time.monotonic``)."""

    method: str
    status: int
    started: float
    ended: float


Observer = Callable[[Head, bytes, float], None]
"""Told of every request as it comes in: its head, its body and ``time.monotonic``."""


def method_name(target: str) -> str:
    """``/v3.6/customer/action/send_event?organization_id=…`` → ``send_event``; other paths whole,
    without the query (``/v2/customer/token``), since their last segment says little (``token``)."""
    path = target.split("?", 1)[0]
    head, _, last = path.rstrip("/").rpartition("/")
    return last if head.endswith("/action") else path


def sequential_round_trips(calls: Iterable[Call]) -> list[list[str]]:
    """The round trips made one after the other, each the methods of the calls it holds: calls that
    overlap in time are one round trip (they were waited for together)."""
    trips: list[list[str]] = []
    reach = float("-inf")
    for call in sorted(calls, key=lambda c: c.started):
        if call.started >= reach:
            trips.append([call.method])
            reach = call.ended
        else:
            trips[-1].append(call.method)
            reach = max(reach, call.ended)
    return trips


class LatencyProxy:
    """Relays ``HOST:port`` to ``upstream_port`` on loopback, adding ``rtt_ms`` to every request."""

    def __init__(self, upstream_port: int, *, port: int = 0, rtt_ms: float = 0.0) -> None:
        self.upstream_port = upstream_port
        self.port = port
        self.rtt_ms = rtt_ms
        self.counts: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        """Answers with a 2xx status, per method."""
        self.calls: list[Call] = []
        self.recording = False
        self.observers: list[Observer] = []
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._watches: list[tuple[str, int, asyncio.Future[float]]] = []

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, HOST, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    def when_answered(self, method: str, total: int) -> asyncio.Future[float]:
        """Done (with ``time.monotonic``) once ``answered[method]`` reaches ``total``: with LiveChat
        behind the proxy, when that many of the bridge's calls have arrived."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if self.answered[method] >= total:
            future.set_result(time.monotonic())
        else:
            self._watches.append((method, total, future))
        return future

    def _count_answer(self, method: str, status: int, at: float) -> None:
        if not 200 <= status < 300:
            return
        self.answered[method] += 1
        for watch in [watch for watch in self._watches if watch[0] == method]:
            _, total, future = watch
            if self.answered[method] >= total or future.done():
                self._watches.remove(watch)
                if not future.done():
                    future.set_result(at)

    def calls_between(self, started: float, ended: float) -> list[Call]:
        """Recorded calls that began within ``[started, ended]``."""
        return [call for call in self.calls if started <= call.started <= ended]

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        upstream = _Upstream(self.upstream_port)
        try:
            while (head := await read_head(reader)) is not None:
                if not await self._relay(head, reader, writer, upstream):
                    break
        except (ProtocolError, ConnectionError, OSError):
            pass  # either side hung up mid-request: the client sees its connection end, as it would
        finally:
            self._connections.discard(task)
            writer.close()
            upstream.close()

    async def _relay(
        self, head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: _Upstream
    ) -> bool:
        """One request and its answer; False when the connection is to be closed after it."""
        started = time.monotonic()
        body = await read_body(reader, head)
        for observe in self.observers:
            observe(head, body, started)
        method = method_name(head.target)
        self.counts[method] += 1
        half = self.rtt_ms / 2000
        if half:
            await asyncio.sleep(half)
        answer, answer_body = await upstream.exchange(head, body)
        if half:
            await asyncio.sleep(half)
        writer.write(answer.raw + answer_body)
        await writer.drain()
        ended = time.monotonic()
        self._count_answer(method, answer.status, ended)
        if self.recording:
            self.calls.append(Call(method, answer.status, started, ended))
        return not (head.closes or answer.closes)


class _Upstream:
    """The proxy's own keep-alive connection for one client connection, opened on first use."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def exchange(self, head: Head, body: bytes) -> tuple[Head, bytes]:
        """Send a request, read its answer. A reused connection that the server closed while it was
        idle (uvicorn closes them after 5 s) ends before any byte of an answer: open a new one, once."""
        for attempt in (1, 2):
            reused = self._streams is not None
            if self._streams is None:
                self._streams = await asyncio.open_connection(HOST, self._port, limit=1 << 20)
            reader, writer = self._streams
            try:
                writer.write(head.raw + body)
                await writer.drain()
                answer = await read_head(reader)
            except ConnectionError:
                answer = None
            if answer is not None:
                answer_body = await read_body(reader, answer, response_to=head.method)
                if answer.closes:
                    self.close()
                return answer, answer_body
            self.close()
            if not reused or attempt == 2:
                break
        raise ProtocolError("upstream closed the connection without answering")

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None
