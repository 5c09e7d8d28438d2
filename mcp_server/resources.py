"""MCP resources: the repository overview, index status, and directory summaries.

- `sextant://overview`: what the repository is (top-level summary + index status), markdown;
- `sextant://status`: `index_status` as JSON;
- `sextant://summary/{+path}`: the summary of one directory, markdown.

After every index update the live index's listeners fire (in an indexing thread);
`ResourceNotifier` hops to the event loop and tells subscribers: 2026-07-28 clients through
`subscriptions/listen` (the SDK's bus), 2025-era clients through `resources/subscribe`
(handlers registered here, because `MCPServer` does not serve that method itself).
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict, defaultdict
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
from mcp.server import MCPServer
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourceUpdated
from mcp.types import (
    EmptyResult,
    SetLevelRequestParams,
    SubscribeRequestParams,
    UnsubscribeRequestParams,
)

from indexer.live import LiveIndex
from mcp_server import render
from tools.errors import ToolError
from tools.redact import redact_text

if TYPE_CHECKING:
    from mcp_server.runtime import Runtime

log = logging.getLogger(__name__)

OVERVIEW = "sextant://overview"
STATUS = "sextant://status"
SUMMARY_PREFIX = "sextant://summary/"
_REMEMBERED_SUMMARIES = 256


class ResourceNotifier:
    """Sends `resources/updated` for the served resources after each index update."""

    def __init__(self, bus: InMemorySubscriptionBus) -> None:
        self.bus = bus
        self._token: anyio.lowlevel.EventLoopToken | None = None
        self._legacy: defaultdict[str, dict[int, Any]] = defaultdict(dict)  # uri -> sessions
        self._summaries: OrderedDict[str, None] = OrderedDict()  # summary URIs read lately
        self._attached: Runtime | None = None

    def attach(self, runtime: Runtime) -> None:
        """Called on the event loop (lifespan): listen to the runtime once per server."""
        self._token = anyio.lowlevel.current_token()
        if self._attached is not runtime:
            runtime.add_listener(self.index_changed)
            self._attached = runtime

    def remember(self, uri: str) -> None:
        self._summaries[uri] = None
        self._summaries.move_to_end(uri)
        while len(self._summaries) > _REMEMBERED_SUMMARIES:
            self._summaries.popitem(last=False)

    def uris(self) -> list[str]:
        return list(dict.fromkeys([OVERVIEW, STATUS, *self._summaries, *self._legacy]))

    def index_changed(self) -> None:
        """A runtime listener, run in an indexing thread."""
        if self._token is None:
            return
        try:
            anyio.from_thread.run(self.publish, token=self._token)
        except anyio.RunFinishedError:
            log.debug("event loop gone; no resource notifications")

    async def publish(self) -> None:
        for uri in self.uris():
            await self.bus.publish(ResourceUpdated(uri=uri))
            for key, session in list(self._legacy.get(uri, {}).items()):
                try:
                    await session.send_resource_updated(uri)
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    self._legacy[uri].pop(key, None)

    async def subscribe(self, ctx: ServerRequestContext[Any], params: SubscribeRequestParams,
                        ) -> EmptyResult:
        self._legacy[str(params.uri)][id(ctx.session)] = ctx.session
        return EmptyResult()

    async def unsubscribe(self, ctx: ServerRequestContext[Any],
                          params: UnsubscribeRequestParams) -> EmptyResult:
        self._legacy.get(str(params.uri), {}).pop(id(ctx.session), None)
        return EmptyResult()


def register_resources(server: MCPServer, runtime: Runtime, notifier: ResourceNotifier) -> None:
    def tool_ctx() -> LiveIndex:
        if runtime.live is None:
            raise ToolError("the index is not open yet: retry in a moment")
        return runtime.live

    @server.resource(OVERVIEW, name="overview", mime_type="text/markdown", description=(
        "What this repository is: top-level directories, languages, key symbols, README lead, "
        "and index status. Read first in an unfamiliar repository."))
    async def overview() -> str:
        return redact_text(await anyio.to_thread.run_sync(lambda: overview_text(tool_ctx())))

    @server.resource(STATUS, name="status", mime_type="application/json", description=(
        "Index statistics and freshness (the index_status tool as a resource)."))
    async def status() -> str:
        return redact_text(await anyio.to_thread.run_sync(lambda: status_json(tool_ctx())))

    @server.resource(SUMMARY_PREFIX + "{+path}", name="summary", mime_type="text/markdown",
                     description="Summary of one directory (path relative to the root).")
    async def summary(path: str) -> str:
        try:
            text = await anyio.to_thread.run_sync(lambda: summary_text(tool_ctx(), path))
        except ToolError as exc:  # no such directory: say why (the SDK would answer -32603
            raise ResourceNotFoundError(str(exc)) from exc  # "Error creating resource")
        notifier.remember(SUMMARY_PREFIX + path)
        return redact_text(text)

    # 2025-era clients subscribe per URI; the SDK serves only `subscriptions/listen`.
    lowlevel = server._lowlevel_server  # no public hook for these methods
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams,
                                 notifier.subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams,
                                 notifier.unsubscribe)
    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, _set_level)


async def _set_level(_: ServerRequestContext[Any], params: SetLevelRequestParams) -> EmptyResult:
    """2025-era clients (Inspector, desktop apps) send this; Sextant sends no log messages to
    clients (its logs go to stderr), so any level is accepted and nothing changes."""
    return EmptyResult()


def status_json(ctx: LiveIndex) -> str:
    from tools.status import index_status

    return json.dumps(index_status(ctx).model_dump(mode="json"), indent=1)


def summary_text(ctx: LiveIndex, path: str, depth: int = 1) -> str:
    from tools.summary import summarize_dir

    result = summarize_dir(ctx, path=path, depth=depth, max_tokens=4000)
    fresh = "fresh" if result.freshness.fresh else (
        f"stale: {len(result.freshness.pending_files)} changed files not yet re-indexed")
    return f"{render.summary(result)}\n\n(index generation {result.freshness.generation}, {fresh})"


def overview_text(ctx: LiveIndex) -> str:
    from tools.status import index_status

    status = index_status(ctx)
    head = f"# Repository {ctx.root.name}\n\n{render.status(status)}"
    try:
        return f"{head}\n\n## Top-level directories\n\n{summary_text(ctx, '.', depth=1)}"
    except ToolError as exc:  # summaries unavailable (empty index, older build): status only
        return f"{head}\n\n(no directory summary: {exc})"
