"""The MCP server of a workspace: the read tools, each with `repo`, over `Shards`.

Each tool validates its arguments, asks the chosen repositories (all when `repo` is absent)
in parallel through `Shards` (in this process, or Ray actors), and merges their answers with
`tools.merge`. A repository that fails or is too slow is named in `missing_repos`; the call
still answers with the rest. A tool error in one repository (no such symbol or directory
there) only drops that repository; when every repository errs, the call is a tool error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError as MCPToolError
from mcp.types import CallToolResult
from pydantic import Field

from mcp_server.sdk import InvalidArguments, SextantServer
from mcp_server.server import (
    INSTRUCTIONS,
    READ_ONLY,
    Direction,
    Hops,
    IncludeBody,
    IncludeRefs,
    K,
    Language,
    MaxTokens,
    Mode,
    PathGlob,
    Query,
    SummaryDepth,
    Target,
    WaitFresh,
)
from mcp_server.settings import Settings
from mcp_server.text import workspace_compact as compact
from mcp_server.workspace import (
    RepoWorkingSets,
    Shards,
    WorkspaceRuntime,
    answer,
)
from tools import budget
from tools.errors import ArgumentError, ToolError
from tools.models import (
    DependencyResult,
    SearchResult,
    SummaryResult,
    SymbolResult,
    WorkspaceStatus,
)

log = logging.getLogger(__name__)

Repo = Annotated[str | None, Field(max_length=200, description=(
    "Only this repository of the workspace (its name); default: all of them"))]


@dataclass
class WorkspaceState:
    shards: Shards
    runtime: WorkspaceRuntime
    limiter: anyio.CapacityLimiter


def _state(ctx: Context) -> WorkspaceState:
    return ctx.request_context.lifespan_context


async def _answer(ctx: Context, tool: str, repo: str | None, kwargs: dict[str, Any],
                  wait_fresh: bool = False, fresh_paths: list[str] | None = None,
                  working: RepoWorkingSets | None = None) -> Any:
    """The merged answer of `repo` (default: every repository) to `tool`; `working`: the
    session's working sets (get_context)."""
    state = _state(ctx)
    if repo is not None and repo not in state.shards.names:
        raise InvalidArguments(
            f"unknown repo {repo!r}: use one of {', '.join(state.shards.names)}")
    repos = [repo] if repo is not None else None
    metrics = state.runtime.metrics
    outcome, started = "crash", time.perf_counter()
    metrics.started()
    try:
        def run() -> Any:
            return answer(state.shards, tool, kwargs, repos, wait_fresh, fresh_paths, working)

        result = await anyio.to_thread.run_sync(run, limiter=state.limiter)
        outcome = "ok"
        return result
    except ToolError as exc:
        outcome = "error"
        if isinstance(exc, ArgumentError):
            raise InvalidArguments(str(exc)) from None
        raise MCPToolError(str(exc)) from None
    finally:
        metrics.finished(tool, outcome, time.perf_counter() - started)


def build_workspace_server(settings: Settings, shards: Shards,
                           runtime: WorkspaceRuntime | None = None) -> MCPServer:
    """The MCP server for a workspace; `shards` are opened by the lifespan."""
    runtime = runtime or WorkspaceRuntime(settings, shards)

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[WorkspaceState]:
        await anyio.to_thread.run_sync(shards.open)
        runtime.follow()
        try:
            yield WorkspaceState(shards=shards, runtime=runtime,
                                 limiter=anyio.CapacityLimiter(settings.tool_threads))
        finally:
            await anyio.to_thread.run_sync(shards.close)

    brief = ("Workspace of repositories: " + ", ".join(shards.names) + ". Every tool takes "
             "`repo` (one of these names; default: all) and every result names its `repo`.")
    server = SextantServer(instructions=f"{brief}\n\n{INSTRUCTIONS}", lifespan=lifespan,
                           log_level=settings.log_level.upper())
    _register(server)
    from mcp_server.context_tool import register_get_context

    register_get_context(server, _context, compact, new_working=dict)
    return server


async def _context(ctx: Context, _fn: object, task: str, *, working: RepoWorkingSets | None,
                   repo: str | None = None, **kwargs: Any) -> Any:
    """get_context's `call` (see `mcp_server.context_tool`) for a workspace: the tool
    function `_fn` runs in each repository (`mcp_server.workspace.context_answer`)."""
    return await _answer(ctx, "get_context", repo, {"task": task, **kwargs}, working=working)


def _register(server: MCPServer) -> None:
    @server.tool(annotations=READ_ONLY)
    async def search_code(  # noqa: PLR0913 - the signature is the tool's input schema
        query: Query,
        ctx: Context,
        k: K = 10,
        language: Language = None,
        path: PathGlob = None,
        mode: Mode = "hybrid",
        max_tokens: MaxTokens = budget.DEFAULT_MAX_TOKENS,
        wait_fresh: WaitFresh = False,
        repo: Repo = None,
    ) -> Annotated[CallToolResult, SearchResult]:
        """Find code by meaning or by name across the workspace, merged by rank; each result
        names its repo. Use instead of grep across repositories."""
        return compact(await _answer(ctx, "search_code", repo, {
            "query": query, "k": k, "language": language, "path": path, "mode": mode, "max_tokens": max_tokens},
            wait_fresh))

    @server.tool(annotations=READ_ONLY)
    async def get_symbol(
        name: Annotated[str, Field(min_length=1, max_length=500, description=(
            "Symbol name, plain ('add_url_rule') or qualified ('Flask.add_url_rule', "
            "'Gitignore::matched')"))],
        ctx: Context,
        path: Annotated[str | None, Field(max_length=500, description=(
            "Only definitions in this file or directory; where it has none, the answer's "
            "note names the files that define the name"))] = None,
        include_body: IncludeBody = True,
        include_references: IncludeRefs = False,
        max_tokens: MaxTokens = budget.DEFAULT_MAX_TOKENS,
        wait_fresh: WaitFresh = False,
        repo: Repo = None,
    ) -> Annotated[CallToolResult, SymbolResult]:
        """Definitions of a symbol in every repository of the workspace (exact matches
        first), with signature, docstring, body and optionally its uses."""
        return compact(await _answer(ctx, "get_symbol", repo, {
            "name": name, "path": path, "include_body": include_body,
            "include_references": include_references, "max_tokens": max_tokens},
            wait_fresh, [path] if path else None))

    @server.tool(annotations=READ_ONLY)
    async def expand_dependencies(
        target: Target,
        ctx: Context,
        direction: Direction = "out",
        depth: Hops = 1,
        max_tokens: MaxTokens = budget.DEFAULT_MAX_TOKENS,
        wait_fresh: WaitFresh = False,
        repo: Repo = None,
    ) -> Annotated[CallToolResult, DependencyResult]:
        """The import/call/inheritance neighbourhood of a file or symbol, in every
        repository where the target exists."""
        return compact(await _answer(ctx, "expand_dependencies", repo, {
            "target": target, "direction": direction, "depth": depth, "max_tokens": max_tokens}, wait_fresh))

    @server.tool(annotations=READ_ONLY)
    async def summarize_dir(
        ctx: Context,
        path: Annotated[str, Field(max_length=500, description=(
            "Directory relative to each repository's root"))] = ".",
        depth: SummaryDepth = 1,
        max_tokens: MaxTokens = budget.DEFAULT_MAX_TOKENS,
        wait_fresh: WaitFresh = False,
        repo: Repo = None,
    ) -> Annotated[CallToolResult, SummaryResult]:
        """What a directory is for, in each repository (or `repo`): languages, size, key
        symbols, entry points, README lead."""
        return compact(await _answer(ctx, "summarize_dir", repo, {
            "path": path, "depth": depth, "max_tokens": max_tokens}, wait_fresh))

    @server.tool(annotations=READ_ONLY)
    async def index_status(ctx: Context, repo: Repo = None,
                           ) -> Annotated[CallToolResult, WorkspaceStatus]:
        """Index statistics and freshness of every repository of the workspace (or `repo`)."""
        return compact(await _answer(ctx, "index_status", repo, {}))


def make_shards(settings: Settings, workspace_file: str, *, cluster: bool,
                address: str | None) -> Shards:
    """The workspace's shards: Ray actors with `cluster`, else live indexes in process."""
    from pathlib import Path

    from mcp_server.usage import UsageError
    from mcp_server.workspace import LocalShards, load_workspace

    if cluster:
        from mcp_server.cluster import ClusterShards, require_ray

        require_ray()
        if not workspace_file:
            raise UsageError("--cluster serves a workspace: pass --workspace FILE")
        return ClusterShards(load_workspace(Path(workspace_file)), settings, address)
    return LocalShards(load_workspace(Path(workspace_file)), settings)


def serve_workspace(settings: Settings, workspace_file: str, *, cluster: bool,
                    address: str | None) -> None:
    """Serve a workspace over stdio or HTTP until stopped (no attach listener, no owner
    record: each repository's index is opened by this server, or by its shard actor)."""
    from dataclasses import replace
    from pathlib import Path

    from mcp_server.http import ConfigError, bind_socket, build_http_app, check_bind, uvicorn_server
    from mcp_server.usage import CliError

    shards = make_shards(settings, workspace_file, cluster=cluster, address=address)
    front = replace(settings, root=Path(workspace_file).resolve().parent, index_dir=None)
    runtime = WorkspaceRuntime(front, shards)
    server = build_workspace_server(front, shards, runtime)
    if settings.transport == "stdio":
        anyio.run(server.run_stdio_async)
        return
    try:
        check_bind(front)
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    sock = bind_socket(front.host, front.port)
    log.info("serving workspace %s at http://%s:%s/mcp", workspace_file, front.host,
             sock.getsockname()[1])
    web = uvicorn_server(build_http_app(server, front, runtime), runtime.shutting_down)
    anyio.run(lambda: web.serve(sockets=[sock]))
