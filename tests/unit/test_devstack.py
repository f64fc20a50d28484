"""The loopback servers of the demo and the tests."""

from __future__ import annotations

import asyncio
import socket

from livehandoff.devstack import bind


async def test_connections_to_a_bound_socket_send_without_waiting_for_acks() -> None:
    """Nagle's algorithm is off on accepted connections, so a response written in parts is not held back
    until the client's delayed ACK."""
    nodelay: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nodelay.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(accepted, sock=bind("127.0.0.1", 0))
    async with server:
        host, port = server.sockets[0].getsockname()[:2]
        _, writer = await asyncio.open_connection(host, port)
        try:
            assert await asyncio.wait_for(nodelay, 5) != 0
        finally:
            writer.close()
            await writer.wait_closed()
