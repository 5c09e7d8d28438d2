"""The `reindex` tool: bring the index in line with the working tree now, with progress.

The pipeline runs in a worker thread and reports progress through `ctx.report_progress`
(MCP `notifications/progress`, when the client sent a progress token). Cancelling the request
sets a stop flag that the pipeline polls between batches; the handler waits for the thread
to stop so the index is never left mid-batch. Writers take turns on `LiveIndex.write_lock`
(the watcher takes the same lock), so a reindex and a watcher batch never interleave.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated

import anyio
import anyio.from_thread
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError as MCPToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from indexer.build import IndexingStopped, IndexStats
from indexer.live import LiveIndex
from mcp_server.repo_arg import Repo, check_repo
from mcp_server.runtime import Runtime
from mcp_server.text import compact
from tools import budget
from tools.freshness import freshness
from tools.models import Freshness

REINDEX = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                          open_world_hint=False)
_PROGRESS_EVERY_S = 0.1


class ReindexResult(BaseModel):
    files: int = Field(description="Indexable files seen in the working tree")
    indexed: int = Field(description="Files (re)written by this run")
    unchanged: int
    deleted: int
    symbols: int = Field(description="Symbols written by this run")
    chunks: int = Field(description="Chunks written by this run")
    skipped: dict[str, int] = Field(description="Files skipped, by reason")
    seconds: float
    freshness: Freshness
    repo: str | None = Field(default=None, description="Repository re-indexed")


class _Relay:
    """Progress from the pipeline thread to the MCP client, throttled; silent once stopped."""

    def __init__(self, ctx: Context, stop: threading.Event) -> None:
        self.ctx, self.stop, self._last = ctx, stop, 0.0

    def __call__(self, done: int, total: int | None, message: str) -> None:
        now = time.monotonic()
        if self.stop.is_set() or (now - self._last < _PROGRESS_EVERY_S and done != total):
            return
        self._last = now
        try:
            anyio.from_thread.run(self.ctx.report_progress, float(done),
                                  float(total) if total else None, message)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.RunFinishedError):
            self.stop.set()  # nobody is listening any more


async def run_reindex(ctx: Context, live: LiveIndex) -> IndexStats:
    """Run `LiveIndex.refresh` in a thread; cancellation stops it between batches."""
    stop, finished = threading.Event(), threading.Event()
    relay = _Relay(ctx, stop)

    def work() -> IndexStats:
        try:
            relay(0, None, "scanning")
            stats = live.refresh(relay, stop.is_set)
            relay(stats.files, stats.files, "done")
            return stats
        finally:
            finished.set()

    try:
        return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        stop.set()
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(finished.wait)
        raise


def register_reindex(server: MCPServer) -> None:
    @server.tool(annotations=REINDEX)
    async def reindex(
        ctx: Context,
        max_tokens: Annotated[int, Field(
            ge=budget.MIN_MAX_TOKENS, le=budget.MAX_MAX_TOKENS,
            description="Upper bound on the answer's size (the answer is always small)")
        ] = budget.DEFAULT_MAX_TOKENS,
        repo: Repo = None,
    ) -> Annotated[CallToolResult, ReindexResult]:
        """Re-scan the working tree now and re-index what changed (usually unnecessary: the
        watcher keeps the index fresh). Use after a branch switch or a bulk edit when answers
        say they are not fresh. Reports progress; cancel to stop between batches."""
        state = ctx.request_context.lifespan_context
        runtime: Runtime = state.runtime
        check_repo(state.live, repo)
        runtime.metrics.started()
        outcome, started = "crash", time.perf_counter()
        runtime.reindex_idle.clear()
        try:
            stats = await run_reindex(ctx, state.live)
            outcome = "ok"
        except IndexingStopped as exc:
            outcome = "error"
            raise MCPToolError(f"reindex stopped: {exc}; call reindex again") from None
        except anyio.get_cancelled_exc_class():
            outcome = "cancelled"
            raise
        finally:
            runtime.metrics.finished("reindex", outcome, time.perf_counter() - started)
            runtime.reindex_idle.set()
        return compact(ReindexResult(
            files=stats.files, indexed=stats.indexed, unchanged=stats.unchanged,
            deleted=stats.deleted, symbols=stats.symbols, chunks=stats.chunks,
            skipped=dict(stats.skipped), seconds=round(stats.seconds, 3),
            freshness=freshness(state.live), repo=state.live.name))
