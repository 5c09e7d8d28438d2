"""expand_dependencies: placeholder until the graph lands (being written now)."""

from __future__ import annotations

from tools.context import ToolContext, ToolError
from tools.models import DependencyResult


def expand_dependencies(ctx: ToolContext, target: str, direction: str = "out", depth: int = 1,
                        max_tokens: int = 4000) -> DependencyResult:
    raise ToolError("expand_dependencies is not available in this build")
