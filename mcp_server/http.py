"""Streamable HTTP transport at /mcp, with /healthz and /metrics, behind the HTTP guard.

One process serves any number of HTTP clients from one index: the SDK's session manager
enters the server lifespan once, so every session shares the same `Runtime`.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from collections.abc import Callable
from types import FrameType

import anyio
import uvicorn
from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp

from indexer.disk import IndexPaths
from mcp_server.owner import index_identity
from mcp_server.runtime import Runtime
from mcp_server.security import LOOPBACK_NAMES, HttpGuard
from mcp_server.settings import Settings

log = logging.getLogger(__name__)

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class ConfigError(Exception):
    """The HTTP server cannot start with these settings; the message says what to change."""


def check_bind(settings: Settings) -> None:
    # a token of spaces could never be sent (HTTP strips a header value's outer whitespace)
    if settings.host not in LOOPBACK_NAMES and not (settings.token or "").strip():
        raise ConfigError(f"binding {settings.host!r} (not loopback) requires a bearer token: "
                          "set SEXTANT_TOKEN or pass --token")


def build_http_app(server: MCPServer, settings: Settings, runtime: Runtime) -> ASGIApp:
    """The ASGI app: the guard in front of the SDK's Streamable HTTP app plus our routes."""
    check_bind(settings)
    index = index_identity(IndexPaths.for_repo(settings.root, settings.index_dir))

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "pid": os.getpid(), "index": index,
                             "ready": runtime.ready.is_set()})

    @server.custom_route("/metrics", methods=["GET"])
    async def metrics(_: Request) -> Response:
        text = await anyio.to_thread.run_sync(runtime.metrics.render, runtime.live)
        return PlainTextResponse(text, media_type=PROMETHEUS_TEXT)

    # Host/Origin are checked by HttpGuard on every path; the SDK's check would repeat it on
    # /mcp only, with its own allow-list syntax, so it is off (its Content-Type check stays).
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    app = server.streamable_http_app(transport_security=security, host=settings.host,
                                     max_request_body_size=settings.max_body_bytes)
    return HttpGuard(app, settings, runtime.metrics)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0: an ephemeral port, read it back with getsockname).

    Its protocol is named (IPPROTO_TCP, not 0): asyncio turns Nagle's algorithm off only on
    sockets that say they are TCP, and an accepted socket takes its listener's protocol.
    With Nagle on, the last piece of each answer (the chunked body's end, 5 bytes) waited
    for the client's delayed ACK: ~40 ms on every call over HTTP (docs/benchmarks.md)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _Uvicorn(uvicorn.Server):
    """uvicorn that stops on SIGINT/SIGTERM without re-raising the signal afterwards, so the
    caller's cleanup (removing server.json) runs. `on_exit` runs in the signal handler
    itself: background work learns of the stop at the signal, not when the lifespan ends."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.force_exit = self.should_exit and sig == signal.SIGINT
        self.should_exit = True
        if self._on_exit is not None:
            self._on_exit()


def uvicorn_server(app: ASGIApp, on_exit: Callable[[], None] | None = None) -> uvicorn.Server:
    """The server for `app`; a stop signal calls `on_exit` and, when `app` is the guard, makes
    it refuse the tool calls waiting for a slot (the graceful shutdown then waits only for
    the running ones)."""
    # log_config=None: uvicorn leaves logging alone (ours goes to stderr; stdout may be MCP's)
    config = uvicorn.Config(app, log_config=None, log_level="warning", lifespan="on",
                            access_log=False, timeout_graceful_shutdown=5)
    hooks = [hook for hook in (getattr(app, "stop_admitting", None), on_exit) if hook is not None]

    def stopping() -> None:
        for hook in hooks:
            hook()

    return _Uvicorn(config, stopping)
