"""Running the server on a transport: stdio (default) or Streamable HTTP at /mcp.

The process that opens the index records itself in `server.json` (owner.py). A stdio server
also listens on an ephemeral loopback port (with a generated bearer token, recorded in the
0600 `server.json`) so that other processes can attach. When the index already has a live
owner, a stdio launch becomes a proxy to it; an HTTP launch refuses with the owner's URL.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import replace

import anyio

from indexer.disk import IndexPaths
from mcp_server.http import ConfigError, bind_socket, build_http_app, check_bind, uvicorn_server
from mcp_server.owner import Owner, claim, read_owner, release
from mcp_server.proxy import RemoteToolError, run_stdio_proxy
from mcp_server.runtime import Runtime
from mcp_server.server import build_server
from mcp_server.settings import Settings
from mcp_server.usage import CliError

log = logging.getLogger(__name__)


def serve(settings: Settings) -> None:
    paths = IndexPaths.for_repo(settings.root, settings.index_dir)
    if settings.transport == "stdio":
        log.info("serving %s over stdio (MCP on stdin/stdout; configure your client to launch "
                 "this command, see docs/clients.md); index in %s", settings.root, paths.dir)
    owner = read_owner(paths)
    if owner is None:
        try:
            owner = _serve_as_owner(settings, paths)
        except ConfigError as exc:
            raise CliError(str(exc)) from None
    if owner is None:
        return
    if settings.transport != "stdio":
        raise CliError(f"this index is already served by pid {owner.pid} at {owner.url}: "
                       "connect there, or stop that server first")
    try:
        anyio.run(run_stdio_proxy, owner)
    except RemoteToolError as exc:
        raise CliError(str(exc)) from None


def _serve_as_owner(settings: Settings, paths: IndexPaths) -> Owner | None:
    """Serve until done and return None; or return the owner that claimed the index first."""
    if settings.transport == "stdio" and not settings.attach_listener:
        anyio.run(build_server(settings).run_stdio_async)
        return None
    if settings.transport == "stdio":
        token = settings.token or secrets.token_urlsafe(32)
        http_settings = replace(settings, host="127.0.0.1", port=0, token=token)
    else:
        check_bind(settings)
        http_settings = settings
    sock = bind_socket(http_settings.host, http_settings.port)
    record = Owner(pid=os.getpid(), host=http_settings.host, port=sock.getsockname()[1],
                   token_required=bool(http_settings.token), transport=settings.transport,
                   token=None if settings.token else http_settings.token)
    if not claim(paths, record):
        sock.close()
        return read_owner(paths)
    try:
        anyio.run(_run, settings, http_settings, sock)
    finally:
        release(paths)
    return None


async def _run(settings: Settings, http_settings: Settings, sock: socket.socket) -> None:
    runtime = Runtime(settings)
    server = build_server(settings, runtime)
    web = uvicorn_server(build_http_app(server, http_settings, runtime), runtime.shutting_down)
    if settings.transport != "stdio":
        log.info("serving MCP at http://%s:%s/mcp", settings.host, sock.getsockname()[1])
        await web.serve(sockets=[sock])
        return

    async def stdio() -> None:
        await server.run_stdio_async()
        runtime.shutting_down()  # stdin closed: as a stop signal, nothing new starts
        web.should_exit = True

    async with anyio.create_task_group() as tg:
        tg.start_soon(stdio)
        await web.serve(sockets=[sock])  # until stdin closes or a signal arrives
        tg.cancel_scope.cancel()
