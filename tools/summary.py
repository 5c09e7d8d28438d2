"""summarize_dir: placeholder until summaries land (being written now)."""

from __future__ import annotations

from tools.context import ToolContext, ToolError
from tools.models import SummaryResult


def summarize_dir(ctx: ToolContext, path: str = ".", depth: int = 1,
                  max_tokens: int = 4000) -> SummaryResult:
    raise ToolError("summarize_dir is not available in this build")
