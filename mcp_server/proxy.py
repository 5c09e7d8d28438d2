"""Talking to the live server that owns an index (see owner.py).

- `call_tool_sync`: one tool call over HTTP for CLI read commands (same JSON as local).
- `run_stdio_proxy`: a thin stdio MCP server forwarding tools, resources and prompts to the
  owner, for a second `sextant serve --transport stdio` on the same repository.

Both raise `RemoteToolError` with a one-line message, never an exception group: the owner
answered with an error, or (`OwnerUnreachable`) could not be reached or refused the call.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
from mcp import Client, MCPError
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
from mcp_server.sdk import INVALID_ARGUMENTS_META, package_version

log = logging.getLogger(__name__)


class RemoteToolError(Exception):
    """The owning server answered a tool call with an error; the message is its text."""


class RemoteArgumentError(RemoteToolError):
    """The owning server refused the call's arguments (a usage error)."""


class OwnerUnreachable(RemoteToolError):
    """The owning server could not be reached, or refused or broke off the call."""


# What a failed exchange with the owner raises (the SDK client's task group wraps them).
_FAILURES = (ExceptionGroup, OSError, TimeoutError, httpx2.HTTPError, MCPError)


def remote_error(owner: Owner, exc: BaseException, refusals: list[int]) -> RemoteToolError:
    """One line saying what went wrong with `owner` and what to do (`refusals`: the HTTP
    error statuses it answered, which the SDK client reports only as a generic error)."""
    log.debug("the call to %s failed (HTTP %s)", owner.url, refusals, exc_info=exc)
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    if isinstance(exc, MCPError) and not refusals:  # a JSON-RPC error answer, e.g. -32602
        return RemoteToolError(" ".join(str(exc).split())[:300] or detail)
    where = f"the server that owns this index (pid {owner.pid} at {owner.url})"
    if 401 in refusals:
        return OwnerUnreachable(f"{where} refused the token: set SEXTANT_TOKEN to its token")
    if 429 in refusals or 503 in refusals:
        return OwnerUnreachable(f"{where} is busy (HTTP {refusals[-1]}): retry in a moment")
    status = f"HTTP {refusals[-1]}, " if refusals else ""
    return OwnerUnreachable(f"{where} failed the call ({status}{detail}): retry, or stop it")


@asynccontextmanager
async def owner_client(owner: Owner, refusals: list[int] | None = None) -> AsyncIterator[Client]:
    """An MCP client session with the owning server (bearer token when it needs one);
    HTTP error statuses it answers are appended to `refusals`."""
    token = owner.bearer()
    headers = {"Authorization": f"Bearer {token}"} if token else None

    async def note(response: httpx2.Response) -> None:
        if response.status_code >= 400 and refusals is not None:
            refusals.append(response.status_code)

    async with create_mcp_http_client(headers=headers) as http:
        http.event_hooks["response"].append(note)
        transport = streamable_http_client(owner.url, http_client=http)
        async with Client(transport, cache=None) as client:
            yield client


async def call_tool(owner: Owner, name: str, arguments: dict[str, Any],
                    refusals: list[int] | None = None) -> dict[str, Any]:
    async with owner_client(owner, refusals) as client:
        result = await client.call_tool(name, arguments)
    if result.is_error:  # one line: a message per line becomes one per clause
        text = "; ".join(line.strip() for c in result.content
                         for line in getattr(c, "text", "").splitlines() if line.strip())
        invalid = (result.meta or {}).get(INVALID_ARGUMENTS_META)
        raise (RemoteArgumentError if invalid else RemoteToolError)(
            text or f"{name} failed on the server")
    if not isinstance(result.structured_content, dict):
        raise RemoteToolError(f"{name}: the server sent no structured content")
    return result.structured_content


def call_tool_sync(owner: Owner, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """`call_tool` from synchronous code (the CLI)."""
    refusals: list[int] = []

    async def run() -> dict[str, Any]:
        with anyio.fail_after(300):
            return await call_tool(owner, name, arguments, refusals)

    try:
        return anyio.run(run)
    except _FAILURES as exc:
        raise remote_error(owner, exc, refusals) from None


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
    refusals: list[int] = []
    try:
        async with owner_client(owner, refusals) as client:
            server = build_proxy(client, owner)
            async with stdio_server() as (read_stream, write_stream):
                await server.run(read_stream, write_stream,
                                 server.create_initialization_options())
    except _FAILURES as exc:
        raise remote_error(owner, exc, refusals) from None
