"""Streamable HTTP transport at /mcp, with /healthz."""

from __future__ import annotations

import logging

import uvicorn
from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcp_server.settings import Settings

log = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def build_http_app(server: MCPServer, settings: Settings):  # noqa: ANN201 - Starlette app
    if settings.host not in LOOPBACK and not settings.token:
        raise SystemExit("sextant: binding a non-loopback address requires a bearer token: "
                         "set SEXTANT_TOKEN or pass --token")

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    hosts = [f"{h}:{settings.port}" for h in ("127.0.0.1", "localhost", "[::1]")] + \
        ["127.0.0.1", "localhost", "[::1]"]
    if settings.host not in LOOPBACK:
        hosts += [settings.host, f"{settings.host}:{settings.port}"]
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts,
        allowed_origins=[f"http://{h}" for h in hosts])
    return server.streamable_http_app(transport_security=security, host=settings.host)


async def run_http(server: MCPServer, settings: Settings) -> None:
    app = build_http_app(server, settings)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning",
                            lifespan="on")
    await uvicorn.Server(config).serve()
