"""MCP argument completion: directory paths for the `sextant://summary/{path}` template."""

from __future__ import annotations

import posixpath

import anyio
from mcp.server import MCPServer
from mcp.types import Completion, CompletionArgument, ResourceTemplateReference

from mcp_server.resources import SUMMARY_PREFIX
from mcp_server.runtime import Runtime

MAX_VALUES = 100  # the protocol's cap per answer


def directories(runtime: Runtime, prefix: str) -> list[str]:
    """Indexed directories starting with `prefix`, shortest first."""
    ctx = runtime.live
    if ctx is None:
        return []
    rows = ctx.index.store.query(
        "SELECT DISTINCT regexp_extract(path, '^(.*)/[^/]*$', 1) FROM files")
    found: set[str] = set()
    for (parent,) in rows:
        while parent:
            found.add(parent)
            parent = posixpath.dirname(parent)
    return sorted((d for d in found if d.startswith(prefix)), key=lambda d: (d.count("/"), d))


def register_completion(server: MCPServer, runtime: Runtime) -> None:
    @server.completion()
    async def complete(ref: object, argument: CompletionArgument,
                       context: object) -> Completion | None:
        if not (isinstance(ref, ResourceTemplateReference) and ref.uri.startswith(SUMMARY_PREFIX)
                and argument.name == "path"):
            return None
        values = await anyio.to_thread.run_sync(directories, runtime, argument.value)
        return Completion(values=values[:MAX_VALUES], total=len(values),
                          has_more=len(values) > MAX_VALUES)
