"""Just enough HTTP/1.1 for the benchmark's proxy and its load: heads, bodies, keep-alive, chunked streams.

The driver plays thousands of customers and relays every LiveChat call of the bridge on two cores
shared with the processes it measures, so what it spends per request is taken from them. A request
through this module costs a fraction of what a general-purpose client's does; it speaks only what
the bridge and the emulators answer (``Content-Length`` or chunked bodies, no pipelining, no TLS).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

HEAD_LIMIT = 1 << 16
NO_BODY_STATUSES = frozenset({204, 304})


class ProtocolError(RuntimeError):
    """The other side broke off or sent something this module does not read."""


@dataclass(frozen=True, slots=True)
class Head:
    """A request's or a response's first line and headers (names in lower case)."""

    raw: bytes
    start_line: str
    headers: Mapping[str, str]

    @property
    def status(self) -> int:
        """A response's status code."""
        return int(self.start_line.split(" ", 2)[1])

    @property
    def target(self) -> str:
        """A request's path and query."""
        return self.start_line.split(" ", 2)[1]

    @property
    def method(self) -> str:
        return self.start_line.split(" ", 1)[0]

    @property
    def closes(self) -> bool:
        return self.headers.get("connection", "").lower() == "close"


async def read_head(reader: asyncio.StreamReader) -> Head | None:
    """The next head, or None when the connection ended cleanly before one began."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise ProtocolError("the connection ended inside a head") from exc
    except asyncio.LimitOverrunError as exc:
        raise ProtocolError("a head longer than the limit") from exc
    lines = raw.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return Head(raw=raw, start_line=lines[0], headers=headers)


async def read_body(reader: asyncio.StreamReader, head: Head, *, response_to: str | None = None) -> bytes:
    """The body as it was framed on the wire (chunk sizes included), for relaying it unchanged.

    ``response_to`` is the request's method when ``head`` is a response: a response to ``HEAD`` and
    some statuses have no body whatever the headers say.
    """
    if response_to is not None and (
        response_to == "HEAD" or head.status in NO_BODY_STATUSES or head.status < 200
    ):
        return b""
    if "chunked" in head.headers.get("transfer-encoding", "").lower():
        return await _read_chunked_raw(reader)
    length = head.headers.get("content-length")
    if length is not None:
        return await _read_exactly(reader, int(length))
    if response_to is None:
        return b""  # a request without a length has no body
    return await reader.read()  # a response that ends with its connection


async def _read_exactly(reader: asyncio.StreamReader, size: int) -> bytes:
    try:
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError("the connection ended inside a body") from exc


async def _read_chunked_raw(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size_line = await _read_line(reader)
        parts.append(size_line)
        size = int(size_line.split(b";", 1)[0], 16)
        if size == 0:
            while (trailer := await _read_line(reader)) != b"\r\n":
                parts.append(trailer)
            parts.append(b"\r\n")
            return b"".join(parts)
        parts.append(await _read_exactly(reader, size + 2))


async def _read_line(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise ProtocolError("the connection ended inside a chunked body") from exc


def decode_chunked(raw: bytes) -> bytes:
    """The payload of a complete chunked body read by :func:`read_body`."""
    payload: list[bytes] = []
    position = 0
    while True:
        end = raw.index(b"\r\n", position)
        size = int(raw[position:end].split(b";", 1)[0], 16)
        if size == 0:
            return b"".join(payload)
        payload.append(raw[end + 2 : end + 2 + size])
        position = end + 2 + size + 2


def request_bytes(method: str, target: str, host: str, headers: Mapping[str, str], body: bytes) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Connection:
    """One keep-alive connection, one request at a time; reconnects when the server has closed it.

    Only a request sent on a connection that was idle, and that got no byte back, is sent again on a
    new one: that is a server closing an idle connection, which saw nothing of the request.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(
        self, method: str, target: str, *, json_body: Any = None, headers: Mapping[str, str] | None = None
    ) -> Response:
        extra = dict(headers or {})
        body = b""
        if json_body is not None:
            body = json.dumps(json_body).encode()
            extra.setdefault("content-type", "application/json")
        payload = request_bytes(method, target, f"{self.host}:{self.port}", extra, body)
        for attempt in (1, 2):
            reused = self._streams is not None
            reader, writer = await self._connect()
            try:
                writer.write(payload)
                await writer.drain()
                head = await read_head(reader)
                if head is None:
                    raise ProtocolError("the server closed the connection")
            except (ProtocolError, ConnectionError) as exc:
                await self.aclose()
                if reused and attempt == 1:
                    continue
                raise ProtocolError(f"{method} {target}: {exc}") from exc
            return await self._finish(reader, head, method)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _finish(self, reader: asyncio.StreamReader, head: Head, method: str) -> Response:
        raw = await read_body(reader, head, response_to=method)
        chunked = "chunked" in head.headers.get("transfer-encoding", "").lower()
        if head.closes:
            await self.aclose()
        return Response(head.status, head.headers, decode_chunked(raw) if chunked else raw)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port, limit=HEAD_LIMIT * 16)
        return self._streams

    async def aclose(self) -> None:
        if self._streams is not None:
            _, writer = self._streams
            self._streams = None
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    id: str | None
    data: str


class EventStream:
    """A ``text/event-stream`` response read frame by frame; the connection is the stream's own."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._buffer = b""

    @classmethod
    async def open(cls, host: str, port: int, target: str, headers: Mapping[str, str]) -> EventStream:
        reader, writer = await asyncio.open_connection(host, port)
        headers = {"accept": "text/event-stream", **headers}
        writer.write(request_bytes("GET", target, f"{host}:{port}", headers, b""))
        try:
            await writer.drain()
            head = await read_head(reader)
        except (ConnectionError, ProtocolError) as exc:
            writer.close()
            raise ProtocolError(f"GET {target}: {exc}") from exc
        if head is None or head.status != 200:
            writer.close()
            raise ProtocolError(f"GET {target}: {head.start_line if head else 'no answer'}")
        return cls(reader, writer)

    async def events(self) -> AsyncIterator[ServerSentEvent]:
        """Frames with data, as they come; comments (keep-alives) and ``retry`` lines are skipped."""
        while True:
            while b"\n\n" not in self._buffer:
                self._buffer += await self._chunk()
            frame, self._buffer = self._buffer.split(b"\n\n", 1)
            event = _parse_frame(frame.decode())
            if event is not None:
                yield event

    async def _chunk(self) -> bytes:
        size_line = await _read_line(self._reader)
        size = int(size_line.split(b";", 1)[0], 16)
        if size == 0:
            raise ProtocolError("the event stream ended")
        data = await _read_exactly(self._reader, size + 2)
        return data[:-2]

    def close(self) -> None:
        self._writer.close()


def _parse_frame(frame: str) -> ServerSentEvent | None:
    event_id, data = None, []
    for line in frame.split("\n"):
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            data.append(line[6:])
    return ServerSentEvent(event_id, "\n".join(data)) if data else None
