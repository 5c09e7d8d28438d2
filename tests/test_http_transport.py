"""The HTTP transport's own socket behaviour (what uvicorn's asyncio server inherits)."""

from __future__ import annotations

import asyncio
import socket

from mcp_server.http import bind_socket


async def test_connections_to_the_served_socket_send_small_writes_at_once() -> None:
    """Nagle's algorithm is off on every accepted connection: with it on, an answer's last
    small write (a chunked body's 5-byte end) waited for the client's delayed ACK, ~40 ms
    on each call over HTTP. asyncio turns it off only on sockets whose protocol is TCP,
    which an accepted socket takes from its listener (`bind_socket`)."""
    sock = bind_socket("127.0.0.1", 0)
    nodelay: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = writer.get_extra_info("socket")
        nodelay.append(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(handle, sock=sock)
    try:
        reader, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        await asyncio.wait_for(reader.read(), 60)  # end of file once the handler has looked
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    assert len(nodelay) == 1 and nodelay[0] != 0
