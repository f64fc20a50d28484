"""The benchmark's proxy: method names, round trips one after the other, and relaying with a delay."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from livehandoff.bench.http1 import Connection, EventStream
from livehandoff.bench.proxy import HOST, Call, LatencyProxy, method_name, sequential_round_trips


@pytest.mark.parametrize(
    ("target", "method"),
    [
        ("/v3.6/customer/action/send_event?organization_id=o", "send_event"),
        ("/v3.6/configuration/action/register_webhook", "register_webhook"),
        ("/v2/customer/token", "/v2/customer/token"),
        ("/v2/token?x=1", "/v2/token"),
        ("/webhooks/livechat", "/webhooks/livechat"),
    ],
)
def test_a_call_is_named_by_its_api_method_or_its_path(target: str, method: str) -> None:
    assert method_name(target) == method


def call(method: str, started: float, ended: float) -> Call:
    return Call(method, 200, started, ended)


def test_calls_that_overlap_are_one_round_trip() -> None:
    calls = [
        call("start_chat", 1.0, 2.0),
        call("/v2/customer/token", 0.0, 1.0),
        call("update_customer", 1.1, 1.9),
        call("send_event", 2.5, 3.0),
    ]
    trips = sequential_round_trips(calls)
    assert trips == [["/v2/customer/token"], ["start_chat", "update_customer"], ["send_event"]]
    assert sequential_round_trips([]) == []


CHUNKED = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
STREAM = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + b"f\r\nid: 1\ndata: a\n\n\r\n"


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An upstream that answers every request on a connection: chunked, or with a length."""
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            break
        if b"content-length: 2" in head:
            await reader.readexactly(2)
        if head.startswith(b"GET /events"):
            writer.write(STREAM)
        elif head.startswith(b"GET /chunked"):
            writer.write(CHUNKED)
        else:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
        await writer.drain()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[LatencyProxy]:
    upstream = await asyncio.start_server(answer, HOST, 0)
    relay = LatencyProxy(upstream.sockets[0].getsockname()[1])
    await relay.start()
    yield relay
    await relay.aclose()
    upstream.close()
    await upstream.wait_closed()


async def test_the_proxy_relays_counts_and_adds_the_round_trip(proxy: LatencyProxy) -> None:
    proxy.rtt_ms, proxy.recording = 40.0, True
    connection = Connection(HOST, proxy.port)
    try:
        began = time.monotonic()
        first = await connection.request("POST", "/v3.6/customer/action/send_event", json_body={})
        took = time.monotonic() - began
        chunked = await connection.request("GET", "/chunked")
    finally:
        await connection.aclose()
    assert (first.status, first.json()) == (200, {})
    assert chunked.body == b"hello world"
    assert took >= 0.04
    assert proxy.counts == {"send_event": 1, "/chunked": 1}
    assert [recorded.method for recorded in proxy.calls] == ["send_event", "/chunked"]
    assert await asyncio.wait_for(proxy.when_answered("send_event", 1), 1) <= time.monotonic()


async def test_an_event_stream_is_read_frame_by_frame(proxy: LatencyProxy) -> None:
    stream = await EventStream.open(HOST, proxy.upstream_port, "/events", {})
    try:
        frames = stream.events()
        first = await anext(frames)
        await frames.aclose()
    finally:
        stream.close()
    assert (first.id, first.data) == ("1", "a")
