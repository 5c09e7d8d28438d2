"""Running the server on a transport: stdio (default) or Streamable HTTP at /mcp."""

from __future__ import annotations

import logging

import anyio

from mcp_server.server import build_server
from mcp_server.settings import Settings

log = logging.getLogger(__name__)


def serve(settings: Settings) -> None:
    server = build_server(settings)
    if settings.transport == "stdio":
        anyio.run(server.run_stdio_async)
        return
    from mcp_server.http import run_http

    anyio.run(run_http, server, settings)
