"""The MCP server: tool registration, lifespan, and the thin protocol layer.

Each MCP tool validates typed arguments (pydantic, from the signature), runs the plain
function from `tools/` in a worker thread, and returns its pydantic result as structured
content. A `tools.context.ToolError` becomes an MCP error result whose message says what to
change; the server never dies on a request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Literal, TypeVar

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError as MCPToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from mcp_server.runtime import Runtime
from mcp_server.settings import Settings
from tools import budget
from tools.context import ToolContext, ToolError
from tools.deps import expand_dependencies as _expand_dependencies
from tools.models import (
    DependencyResult,
    IndexStatus,
    SearchResult,
    SummaryResult,
    SymbolResult,
)
from tools.redact import redact
from tools.search import search_code as _search_code
from tools.status import index_status as _index_status
from tools.summary import summarize_dir as _summarize_dir
from tools.symbols import get_symbol as _get_symbol

R = TypeVar("R")

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False,
                            destructive_hint=False)

MaxTokens = Annotated[int, Field(
    ge=budget.MIN_MAX_TOKENS, le=budget.MAX_MAX_TOKENS,
    description="Upper bound on the answer's size in cl100k tokens; detail degrades to fit")]


@dataclass
class AppState:
    """The lifespan object: everything a tool call needs."""

    runtime: Runtime
    ctx: ToolContext


INSTRUCTIONS = """Sextant indexes this repository (symbols, imports, call sites, semantic
chunks) and keeps the index fresh as files change. Prefer it to grep/find when you need to:
- find code by what it does or by name: search_code (ranked, hybrid lexical + semantic);
- read a definition, or find who calls something: get_symbol (include_references=true);
- see what a file or symbol depends on, or what depends on it: expand_dependencies;
- get oriented in an unfamiliar directory: summarize_dir.
Every answer fits max_tokens, says what it left out, and says whether files changed since
they were indexed. Paths are relative to the repository root."""


def _state(ctx: Context) -> AppState:
    return ctx.request_context.lifespan_context


async def _call(ctx: Context, fn: Callable[..., R], *args: object, **kwargs: object) -> R:
    state = _state(ctx)

    def run() -> R:
        return redact(fn(state.ctx, *args, **kwargs))

    try:
        return await anyio.to_thread.run_sync(run)
    except ToolError as exc:
        raise MCPToolError(str(exc)) from None


def build_server(settings: Settings, runtime: Runtime | None = None) -> MCPServer:
    """The MCP server for one repository; resources live in the lifespan's AppState."""
    runtime = runtime or Runtime(settings)

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[AppState]:
        ctx = await anyio.to_thread.run_sync(runtime.acquire)
        try:
            yield AppState(runtime=runtime, ctx=ctx)
        finally:
            await anyio.to_thread.run_sync(runtime.release)

    server = MCPServer("sextant", instructions=INSTRUCTIONS, lifespan=lifespan,
                       log_level=settings.log_level.upper())  # type: ignore[arg-type]
    _register_tools(server)
    return server


def _register_tools(server: MCPServer) -> None:
    @server.tool(annotations=READ_ONLY)
    async def search_code(
        query: Annotated[str, Field(min_length=1, max_length=4000, description=(
            "What you are looking for: a description ('where are URL rules registered'), an "
            "identifier, an error message, or an issue text"))],
        ctx: Context,
        k: Annotated[int, Field(ge=1, le=100, description="Number of results")] = 10,
        language: Annotated[str | None, Field(max_length=40, description=(
            "Only this language, e.g. python, go, typescript"))] = None,
        path: Annotated[str | None, Field(max_length=500, description=(
            "Only paths matching this glob or under this directory, e.g. 'src/**/*.py'"))] = None,
        mode: Annotated[Literal["hybrid", "lexical", "semantic"], Field(description=(
            "hybrid (default) fuses BM25, symbol names and embeddings"))] = "hybrid",
        max_tokens: MaxTokens = budget.DEFAULT_MAX_TOKENS,
    ) -> SearchResult:
        """Find code by meaning or by name, ranked. Use instead of grep when you don't know the
        exact text, or when grep returns too many hits: results are whole functions/classes
        with their path and line range, tests ranked below source."""
        return await _call(ctx, _search_code, query, k=k, language=language, path=path,
                           mode=mode, max_tokens=max_tokens)

    @server.tool(annotations=READ_ONLY)
    async def get_symbol(
        name: Annotated[str, Field(min_length=1, max_length=500, description=(
            "Symbol name, plain ('add_url_rule') or qualified ('Flask.add_url_rule'); "
            "inherited members are found through base classes"))],
        ctx: Context,
        path: Annotated[str | None, Field(max_length=500, description=(
            "Prefer definitions in this file or directory"))] = None,
        include_body: Annotated[bool, Field(description="Include the source body")] = True,
        include_references: Annotated[bool, Field(description=(
            "List call sites and other uses, with a line of context"))] = False,
        max_tokens: MaxTokens = budget.DEFAULT_MAX_TOKENS,
    ) -> SymbolResult:
        """Jump to a definition: signature, docstring, body and (optionally) every use site.
        Use instead of grepping for 'def name' or 'func name'."""
        return await _call(ctx, _get_symbol, name, path=path, include_body=include_body,
                           include_references=include_references, max_tokens=max_tokens)

    @server.tool(annotations=READ_ONLY)
    async def expand_dependencies(
        target: Annotated[str, Field(min_length=1, max_length=500, description=(
            "A file path ('src/flask/app.py') or a symbol ('Scaffold.route')"))],
        ctx: Context,
        direction: Annotated[Literal["out", "in", "both"], Field(description=(
            "out: what the target uses; in: what uses the target"))] = "out",
        depth: Annotated[int, Field(ge=1, le=4, description="Hops to follow")] = 1,
        max_tokens: MaxTokens = budget.DEFAULT_MAX_TOKENS,
    ) -> DependencyResult:
        """The import/call/inheritance neighbourhood of a file or symbol, most relevant first,
        with signatures and docstrings. Use before changing code to see what it touches and
        what would break."""
        return await _call(ctx, _expand_dependencies, target, direction=direction, depth=depth,
                           max_tokens=max_tokens)

    @server.tool(annotations=READ_ONLY)
    async def summarize_dir(
        ctx: Context,
        path: Annotated[str, Field(max_length=500, description=(
            "Directory relative to the repository root"))] = ".",
        depth: Annotated[int, Field(ge=0, le=4, description="Levels of subdirectories")] = 1,
        max_tokens: MaxTokens = budget.DEFAULT_MAX_TOKENS,
    ) -> SummaryResult:
        """What a directory is for: languages, size, key symbols with docstrings, entry points,
        README lead, and what it depends on. Use to get oriented instead of listing files."""
        return await _call(ctx, _summarize_dir, path=path, depth=depth, max_tokens=max_tokens)

    @server.tool(annotations=READ_ONLY)
    async def index_status(ctx: Context) -> IndexStatus:
        """Index statistics: files, symbols, chunks, languages, skipped files by reason,
        embedding progress, and whether the watcher is keeping the index fresh."""
        return await _call(ctx, _index_status)
