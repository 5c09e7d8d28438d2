"""The `get_context` tool, and the working set each MCP session keeps (`tools.working_set`;
a workspace server keeps one per repository of the workspace in each session).

The SDK builds a connection object per request under the 2026 protocol, so a session is
told apart by the transport's session id (Streamable HTTP) or by the server run (stdio, in
memory); see `WorkingSets.key`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic, TypeVar

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from tools import budget
from tools.context_models import ContextResult
from tools.get_context import MAX_TASK_CHARS
from tools.get_context import get_context as _get_context
from tools.working_set import WorkingSet

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=False, open_world_hint=False,
                            destructive_hint=False)
DEFAULT_CONTEXT_TOKENS = 8000
MAX_SESSIONS = 64
W = TypeVar("W")


class WorkingSets(Generic[W]):
    """One working set (`new()`) per client session (see `key`), the least recently used
    dropped first beyond `MAX_SESSIONS`."""

    def __init__(self, new: Callable[[], W]) -> None:
        self._new = new
        self._sets: OrderedDict[object, W] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, key: object) -> W:
        with self._lock:
            found = self._sets.pop(key) if key in self._sets else self._new()
            self._sets[key] = found
            while len(self._sets) > MAX_SESSIONS:
                self._sets.popitem(last=False)
            return found

    @staticmethod
    def key(request: Any) -> object | None:
        """Which session a request belongs to: the transport's session id (Streamable HTTP);
        without one, the server run (`lifespan_context`: a stdio process or an in-memory
        connection serves one client); None for a stateless HTTP request, which then gets
        no working set (nothing is withheld from a client nobody can tell apart)."""
        session_id = getattr(getattr(request.session, "_connection", None), "session_id", None)
        if session_id:
            return ("http", session_id)
        if request.request is not None:
            return None
        return ("run", id(request.lifespan_context))


def register_get_context(server: MCPServer, call: Callable[..., Awaitable[BaseModel]],
                         compact: Callable[[BaseModel], CallToolResult],
                         new_working: Callable[[], object] = WorkingSet) -> None:
    """Register `get_context`; `call` runs a tool function (server._call, or the workspace
    server's), `compact` renders its result (mcp_server.text.compact), `new_working` makes
    a session's working set (a `WorkingSet`; a workspace: one per repository)."""
    sets: WorkingSets[object] = WorkingSets(new_working)

    @server.tool(annotations=READ_ONLY)
    async def get_context(
        task: Annotated[str, Field(min_length=1, max_length=MAX_TASK_CHARS, description=(
            "The task in words: a question, an issue report, a stack trace"))],
        ctx: Context,
        max_tokens: Annotated[int, Field(
            ge=budget.MIN_MAX_TOKENS, le=budget.MAX_MAX_TOKENS,
            description="Upper bound on the answer in cl100k tokens")] = DEFAULT_CONTEXT_TOKENS,
        path: Annotated[str | None, Field(max_length=500, description=(
            "Search only under this directory or matching this glob (what the code found "
            "calls or is called by may be elsewhere)"))] = None,
        repo: Annotated[str | None, Field(max_length=200, description=(
            "Repository name (default: every repository the server serves, sharing "
            "max_tokens)"))] = None,
        resend: Annotated[bool, Field(description=(
            "Send again what this session already received"))] = False,
    ) -> Annotated[CallToolResult, ContextResult]:
        """Everything a task needs in one call: the code that matches it (whole bodies), what
        that code calls and what calls it, base classes and tests (signatures), and its
        directories, within max_tokens. Start a task with it instead of chaining
        search_code, get_symbol and expand_dependencies. Code this session already received
        is referred to, not resent."""
        key = sets.key(ctx.request_context)
        working = None if key is None else sets.of(key)
        return compact(await call(ctx, _get_context, task, max_tokens=max_tokens, path=path,
                                  working=working, resend=resend, repo=repo))
