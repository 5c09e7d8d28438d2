"""The MCP server: tool registration, lifespan, and the thin protocol layer.

Each MCP tool validates typed arguments (pydantic, from the signature), runs the plain
function from `tools/` in a worker thread, and returns its pydantic result as structured
content. A `tools.errors.ToolError` becomes an MCP error result whose message says what to
change; the server never dies on a request. `_call` also bounds the worker threads (more
calls queue), records per-tool metrics, and waits for freshness when asked to.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError as MCPToolError
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from indexer.lexical import LexicalCorrupt
from indexer.live import LiveIndex
from mcp_server.repo_arg import Repo, check_repo
from mcp_server.resources import ResourceNotifier, register_resources
from mcp_server.runtime import Runtime, read_tool
from mcp_server.sdk import InvalidArguments, SextantServer
from mcp_server.settings import Settings
from mcp_server.text import compact
from tools import budget
from tools.deps import expand_dependencies as _expand_dependencies
from tools.errors import ArgumentError, ToolError
from tools.models import (
    DependencyResult,
    IndexStatus,
    SearchResult,
    SummaryResult,
    SymbolResult,
)
from tools.search import search_code as _search_code
from tools.status import index_status as _index_status
from tools.summary import summarize_dir as _summarize_dir
from tools.symbols import get_symbol as _get_symbol

R = TypeVar("R")
log = logging.getLogger(__name__)

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False,
                            destructive_hint=False)

MaxTokens = Annotated[int, Field(
    ge=budget.MIN_MAX_TOKENS, le=budget.MAX_MAX_TOKENS,
    description="Answer size limit in cl100k tokens")]
# search_code's parameters, shared by the single-repository and the workspace servers
Query = Annotated[str, Field(min_length=1, max_length=4000, description=(
    "A description ('where are URL rules registered'), an identifier, an error message "
    "or an issue text"))]
K = Annotated[int, Field(ge=1, le=100, description="Number of results")]
Language = Annotated[str | None, Field(max_length=40, description=(
    "Only this language, e.g. python, go, typescript"))]
PathGlob = Annotated[str | None, Field(max_length=500, description=(
    "Only paths under this directory or matching this glob ('src/**/*.py')"))]
Mode = Annotated[Literal["hybrid", "lexical", "semantic"], Field(description=(
    "hybrid fuses BM25, symbol names and embeddings"))]
# the other read tools' parameters, shared with the workspace server too
IncludeBody = Annotated[bool, Field(description="Include the source body")]
IncludeRefs = Annotated[bool, Field(description=(
    "Also list the use sites, a line of context each"))]
Target = Annotated[str, Field(min_length=1, max_length=500, description=(
    "File path ('src/flask/app.py') or symbol ('Scaffold.route')"))]
Direction = Annotated[Literal["out", "in", "both"], Field(description=(
    "out: what it uses; in: what uses it"))]
Hops = Annotated[int, Field(ge=1, le=4, description="Hops to follow")]
SummaryDepth = Annotated[int, Field(ge=0, le=4, description="Subdirectory levels")]
WaitFresh = Annotated[bool, Field(description=(
    "Wait up to 10 s for just-edited files to be indexed"))]


@dataclass
class AppState:
    """The lifespan object: everything a tool call needs."""

    runtime: Runtime
    live: LiveIndex
    limiter: anyio.CapacityLimiter


INSTRUCTIONS = """Sextant indexes this repository (symbols, imports, call sites, semantic
chunks) and keeps the index fresh as files change. Prefer it to grep/find when you need to:
- start a task (a question, an issue, a traceback): get_context returns the matching code,
  what it calls and what calls it, and its directories, in one answer;
- find code by what it does or by name: search_code (ranked, hybrid lexical + semantic);
- read a definition, or find who calls something: get_symbol (include_references=true);
- see what a file or symbol depends on, or what depends on it: expand_dependencies;
- get oriented in an unfamiliar directory: summarize_dir (or read sextant://overview).
Every answer fits max_tokens, says what it left out, and says whether files changed since
they were indexed (freshness; pass wait_fresh=true right after editing). Paths are relative
to the repository root. Prompts explore_codebase, locate_code and plan_change show the way."""


def repository_brief(root: Path) -> str:
    """One paragraph on the repository for the server instructions: its name, README lead
    and top-level directories (cheap: one directory listing and one file read)."""
    from indexer.summaries import readme_lead

    readme = next((n for n in ("README.md", "README.rst", "README.txt", "README")
                   if (root / n).is_file()), None)
    lead = readme_lead(root, readme, limit=300) if readme else ""
    try:
        dirs = sorted(e.name + "/" for e in os.scandir(root)
                      if e.is_dir(follow_symlinks=False) and not e.name.startswith((".", "_")))
    except OSError:
        dirs = []
    text = f"Repository: {root.name}." + (f" {lead}" if lead else "")
    if dirs:
        text += " Top-level directories: " + ", ".join(dirs[:15]) + (
            ", ..." if len(dirs) > 15 else "") + "."
    return text


def _state(ctx: Context) -> AppState:
    return ctx.request_context.lifespan_context


async def _call(ctx: Context, fn: Callable[..., R], *args: object, wait_fresh: bool = False,
                fresh_paths: set[str] | None = None, repo: str | None = None,
                **kwargs: object) -> R:
    """Run tool function `fn` on the index in a worker thread; metrics by `fn.__name__`.
    The tools name the repository on their items themselves (`LiveIndex.name`), so their
    budgets count it."""
    state = _state(ctx)
    metrics = state.runtime.metrics
    check_repo(state.live, repo)

    def run() -> R:
        return read_tool(state.live, fn, *args, wait_fresh=wait_fresh,
                         fresh_paths=fresh_paths, **kwargs)

    outcome, started = "crash", time.perf_counter()
    metrics.started()
    try:
        result = await anyio.to_thread.run_sync(run, limiter=state.limiter)
        outcome = "ok"
        return result
    except ToolError as exc:
        outcome = "error"
        if isinstance(exc, ArgumentError):
            raise InvalidArguments(str(exc)) from None
        raise MCPToolError(str(exc)) from None
    except anyio.get_cancelled_exc_class():
        outcome = "cancelled"
        raise
    except Exception as exc:
        if not state.live.recover_if_damaged(exc):
            raise
        outcome = "error"
        what = ("the lexical index is damaged: it is being rebuilt from the store"
                if isinstance(exc, LexicalCorrupt) else
                "the index store is damaged: it was moved aside and is being rebuilt")
        raise MCPToolError(f"{what}; retry in a few seconds") from None
    finally:
        metrics.finished(fn.__name__, outcome, time.perf_counter() - started)


def build_server(settings: Settings, runtime: Runtime | None = None) -> MCPServer:
    """The MCP server for one repository; resources live in the lifespan's AppState."""
    runtime = runtime or Runtime(settings)
    bus = InMemorySubscriptionBus()
    notifier = ResourceNotifier(bus)

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[AppState]:
        notifier.attach(runtime)
        live = await anyio.to_thread.run_sync(runtime.acquire)
        try:
            yield AppState(runtime=runtime, live=live,
                           limiter=anyio.CapacityLimiter(settings.tool_threads))
        finally:
            await anyio.to_thread.run_sync(runtime.release)

    instructions = f"{repository_brief(settings.root)}\n\n{INSTRUCTIONS}"
    server = SextantServer(instructions=instructions, lifespan=lifespan,
                           log_level=settings.log_level.upper(), subscriptions=bus)
    _register_tools(server)
    from mcp_server.context_tool import register_get_context

    register_get_context(server, _call, compact)
    from mcp_server.reindex import register_reindex

    register_reindex(server)
    register_resources(server, runtime, notifier)
    _register_prompts(server)
    from mcp_server.completion import register_completion

    register_completion(server, runtime)
    return server


def _register_prompts(server: MCPServer) -> None:
    from prompts import PROMPTS

    for fn in PROMPTS:
        server.prompt(name=fn.__name__, description=(fn.__doc__ or "").strip())(fn)


def _register_tools(server: MCPServer) -> None:
    @server.tool(annotations=READ_ONLY)
    async def search_code(  # noqa: PLR0913 (the parameters are the tool's published schema)
        query: Query,
        ctx: Context,
        k: K = 10,
        language: Language = None,
        path: PathGlob = None,
        mode: Mode = "hybrid",
        max_tokens: MaxTokens = budget.DEFAULT_MAX_TOKENS,
        wait_fresh: WaitFresh = False,
        granularity: Annotated[Literal["chunk", "file"], Field(description=(
            "chunk: functions and classes; file: which files to change, ranked by all their "
            "matching definitions and by past commits worded like the query"))] = "chunk",
        repo: Repo = None,
    ) -> Annotated[CallToolResult, SearchResult]:
        """Find code by meaning or name, ranked: whole functions/classes with path and lines,
        tests below source. Use instead of grep when you don't know the exact text or grep
        finds too much."""
        return compact(await _call(ctx, _search_code, query, k=k, language=language,
                                   path=path, mode=mode, max_tokens=max_tokens,
                                   wait_fresh=wait_fresh, granularity=granularity, repo=repo))

    @server.tool(annotations=READ_ONLY)
    async def get_symbol(
        name: Annotated[str, Field(min_length=1, max_length=500, description=(
            "Plain ('add_url_rule') or qualified ('Flask.add_url_rule', 'Gitignore::matched'); "
            "inherited members are found through base classes"))],
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
        """A definition: signature, docstring, body and (optionally) its use sites; how the
        name matched (exact, qualified, inherited, fuzzy). Use instead of grepping for
        'def name'."""
        return compact(await _call(ctx, _get_symbol, name, path=path,
                                   include_body=include_body,
                                   include_references=include_references,
                                   max_tokens=max_tokens, wait_fresh=wait_fresh,
                                   fresh_paths={path} if path else None, repo=repo))

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
        """Imports, calls and inheritance around a file or symbol, most relevant first, with
        signatures and docstrings: what a change touches and could break."""
        return compact(await _call(ctx, _expand_dependencies, target, direction=direction,
                                   depth=depth, max_tokens=max_tokens, wait_fresh=wait_fresh,
                                   repo=repo))

    @server.tool(annotations=READ_ONLY)
    async def summarize_dir(
        ctx: Context,
        path: Annotated[str, Field(max_length=500, description=(
            "Directory from the repository root"))] = ".",
        depth: SummaryDepth = 1,
        max_tokens: MaxTokens = budget.DEFAULT_MAX_TOKENS,
        wait_fresh: WaitFresh = False,
        repo: Repo = None,
    ) -> Annotated[CallToolResult, SummaryResult]:
        """What a directory is for: languages, size, key symbols, entry points, README lead,
        dependencies and importers. Orient here instead of listing files."""
        scope = None if path.strip("./") == "" else {path.strip("/")}
        return compact(await _call(ctx, _summarize_dir, path=path, depth=depth,
                                   max_tokens=max_tokens, wait_fresh=wait_fresh,
                                   fresh_paths=scope, repo=repo))

    @server.tool(annotations=READ_ONLY)
    async def index_status(ctx: Context, repo: Repo = None,
                           ) -> Annotated[CallToolResult, IndexStatus]:
        """Index size (files, symbols, chunks, languages), skipped files, embedding progress,
        watcher state and pending files."""
        return compact(await _call(ctx, _index_status, repo=repo))
