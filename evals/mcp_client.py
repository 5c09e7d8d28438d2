"""Talk to a real Sextant MCP server in memory, over an index the harness already built.

A copy of the small helpers in tests/mcp_helpers.py (evals do not import tests/), with one
difference: the server is handed an open `LiveIndex` instead of opening and reconciling
the index itself, so the harness decides when the index changes (between commits) and what
is embedded, while every query still goes through the MCP tool, its validation and its
structured output.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client

from indexer.live import LiveIndex
from mcp_server.runtime import Runtime
from mcp_server.settings import Settings


@asynccontextmanager
async def serve(ctx: LiveIndex) -> AsyncIterator[Client]:
    """An in-memory MCP session with a server answering from `ctx`."""
    from mcp_server.server import build_server

    ctx.ready.set()  # the harness has reconciled it
    runtime = Runtime(Settings(root=ctx.root, watch=False, embed=False, log_level="WARNING"), ctx)
    async with Client(build_server(runtime.settings, runtime)) as client:
        yield client


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    """Call a tool and return its structured content; raise on an error result."""
    result = await client.call_tool(tool, args)
    if result.is_error or not isinstance(result.structured_content, dict):
        raise RuntimeError(f"{tool} failed: {result.content}")
    return result.structured_content


