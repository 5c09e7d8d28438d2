"""Talking to the live server that owns an index (see owner.py).

- `call_tool_sync`: one tool call over HTTP for CLI read commands (same JSON as local).
- `run_stdio_proxy`: a thin stdio MCP server forwarding tools, resources and prompts to the
  owner, for a second `sextant serve --transport stdio` on the same repository.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import (
    CallToolRequestParams,
    CallToolResult,
    GetPromptRequestParams,
    GetPromptResult,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    PaginatedRequestParams,
    ReadResourceRequestParams,
    ReadResourceResult,
)

from mcp_server.owner import Owner
from mcp_server.sdk import package_version

log = logging.getLogger(__name__)


class RemoteToolError(Exception):
    """The owning server answered a tool call with an error; the message is its text."""


@asynccontextmanager
async def owner_client(owner: Owner) -> AsyncIterator[Client]:
    """An MCP client session with the owning server (bearer token when it needs one)."""
    token = owner.bearer()
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with create_mcp_http_client(headers=headers) as http:
        transport = streamable_http_client(owner.url, http_client=http)
        async with Client(transport, cache=None) as client:
            yield client


async def call_tool(owner: Owner, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    async with owner_client(owner) as client:
        result = await client.call_tool(name, arguments)
    if result.is_error:
        text = " ".join(getattr(c, "text", "") for c in result.content).strip()
        raise RemoteToolError(text or f"{name} failed on the server")
    if not isinstance(result.structured_content, dict):
        raise RemoteToolError(f"{name}: the server sent no structured content")
    return result.structured_content


def call_tool_sync(owner: Owner, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """`call_tool` from synchronous code (the CLI)."""
    async def run() -> dict[str, Any]:
        with anyio.fail_after(300):
            return await call_tool(owner, name, arguments)

    return anyio.run(run)


def build_proxy(client: Client, owner: Owner) -> Server[Any]:
    """A lowlevel MCP server whose every request is answered through `client`."""

    async def list_tools(_: ServerRequestContext[Any],
                         params: PaginatedRequestParams | None) -> ListToolsResult:
        return await client.list_tools(cursor=params.cursor if params else None)

    async def call(ctx: ServerRequestContext[Any],
                   params: CallToolRequestParams) -> CallToolResult:
        async def progress(done: float, total: float | None, message: str | None) -> None:
            await ctx.session.report_progress(done, total, message)

        return await client.call_tool(params.name, params.arguments, progress_callback=progress)

    async def list_resources(_: ServerRequestContext[Any],
                             params: PaginatedRequestParams | None) -> ListResourcesResult:
        return await client.list_resources(cursor=params.cursor if params else None)

    async def list_templates(_: ServerRequestContext[Any], params: PaginatedRequestParams
                             | None) -> ListResourceTemplatesResult:
        return await client.list_resource_templates(cursor=params.cursor if params else None)

    async def read_resource(_: ServerRequestContext[Any],
                            params: ReadResourceRequestParams) -> ReadResourceResult:
        return await client.read_resource(str(params.uri))

    async def list_prompts(_: ServerRequestContext[Any],
                           params: PaginatedRequestParams | None) -> ListPromptsResult:
        return await client.list_prompts(cursor=params.cursor if params else None)

    async def get_prompt(_: ServerRequestContext[Any],
                         params: GetPromptRequestParams) -> GetPromptResult:
        return await client.get_prompt(params.name, params.arguments)

    note = f"(Served through the Sextant process {owner.pid} at {owner.url}.)"
    return Server(
        "sextant", version=package_version(),
        instructions=f"{client.instructions or ''}\n{note}".strip(),
        on_list_tools=list_tools, on_call_tool=call, on_list_resources=list_resources,
        on_list_resource_templates=list_templates, on_read_resource=read_resource,
        on_list_prompts=list_prompts, on_get_prompt=get_prompt)


async def run_stdio_proxy(owner: Owner) -> None:
    log.info("the index is served by pid %s at %s: proxying stdio to it", owner.pid, owner.url)
    async with owner_client(owner) as client:
        server = build_proxy(client, owner)
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
