"""The chaos run's round-robin proxy, against small TCP servers on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from livehandoff.chaos.processes import HOST, free_port
from livehandoff.chaos.proxy import RoundRobinProxy, request_kind


@contextlib.asynccontextmanager
async def upstream(name: bytes) -> AsyncIterator[int]:
    """A server that reads one request, answers with its name and closes; yields its port."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(name)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(answer, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def ask(proxy: RoundRobinProxy, request: bytes = b"GET / HTTP/1.1\r\n\r\n") -> bytes:
    """What the proxy answers one request with; a connection it cuts answers nothing."""
    reader, writer = await asyncio.open_connection(HOST, proxy.port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
    except ConnectionResetError:
        answer = b""
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return answer


@contextlib.asynccontextmanager
async def proxy_over(ports: list[int]) -> AsyncIterator[RoundRobinProxy]:
    proxy = RoundRobinProxy([(HOST, port) for port in ports], host=HOST)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.aclose()


async def test_connections_go_round_robin_and_a_closed_port_passes_to_the_next() -> None:
    async with upstream(b"one") as one, upstream(b"two") as two, proxy_over([one, free_port(), two]) as proxy:
        answers = [await ask(proxy) for _ in range(6)]

    assert answers == [b"one", b"two", b"two", b"one", b"two", b"two"]
    assert proxy.refused == 2
    assert proxy.stats()["connections"] == {"1": {"api": 2}, "3": {"api": 4}}
    assert len(proxy.first_answer_s["api"]) == 6
    assert not proxy.unanswered


async def test_an_instance_marked_down_gets_no_new_connections_until_marked_up() -> None:
    async with upstream(b"one") as one, upstream(b"two") as two, proxy_over([one, two]) as proxy:
        proxy.mark(0, down=True)
        down = [await ask(proxy) for _ in range(3)]
        proxy.mark(0, down=False)
        up = {await ask(proxy) for _ in range(2)}

    assert down == [b"two"] * 3
    assert up == {b"one", b"two"}
    assert proxy.refused == 0


async def test_a_connection_no_instance_takes_is_closed() -> None:
    async with proxy_over([free_port(), free_port()]) as proxy:
        answer = await ask(proxy)

    assert answer == b""
    assert (proxy.refused, proxy.unserved) == (2, 1)


@pytest.mark.parametrize(
    ("first", "kind"),
    [
        (b"GET /v1/conversations/c1/events?token=t HTTP/1.1\r\nhost: x\r\n\r\n", "stream"),
        (b"POST /webhooks/livechat HTTP/1.1\r\n", "webhook"),
        (b"POST /v1/conversations/c1/messages HTTP/1.1\r\n", "api"),
        (b"GET /healthz HTTP/1.1\r\n", "api"),
        (b"", "api"),
    ],
)
def test_the_first_request_line_says_what_a_connection_is_for(first: bytes, kind: str) -> None:
    assert request_kind(first) == kind


async def test_a_request_an_instance_never_answers_is_counted_unanswered() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(silent, HOST, 0)
    try:
        async with proxy_over([server.sockets[0].getsockname()[1]]) as proxy:
            answer = await ask(proxy, b"POST /webhooks/livechat HTTP/1.1\r\n\r\n")
    finally:
        server.close()
        await server.wait_closed()

    assert answer == b""
    assert proxy.unanswered == {"webhook": 1}
    assert proxy.stats()["connections"] == {"1": {"webhook": 1}}
