"""Token budgets: make a tool's answer fit `max_tokens` (cl100k), degrading gracefully.

Each item can be rendered at decreasing levels of detail (e.g. body -> signature -> one
line). Items are taken in rank order at the richest level that still fits; when even the
leanest rendering of an item no longer fits, it and everything after it is counted as
omitted. The whole answer's JSON is then measured, and trimmed further if the envelope
pushed it over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from pydantic import BaseModel

from indexer.tokens import count_tokens

T = TypeVar("T", bound=BaseModel)

DEFAULT_MAX_TOKENS = 4000
MIN_MAX_TOKENS = 200
MAX_MAX_TOKENS = 20000


def json_tokens(model: BaseModel) -> int:
    """Tokens of the answer as MCP clients receive it (the SDK sends JSON indented by 2)."""
    return count_tokens(model.model_dump_json(indent=2))


def fit_items(
    items: Sequence[T],
    levels: Sequence[Callable[[T], T]],
    budget: int,
) -> tuple[list[T], int, bool]:
    """Fit items into `budget` tokens. Returns (kept, omitted_count, degraded)."""
    kept: list[T] = []
    used = 0
    degraded = False
    for i, item in enumerate(items):
        for level_no, render in enumerate(levels):
            candidate = render(item)
            cost = json_tokens(candidate) + 1
            if used + cost <= budget:
                kept.append(candidate)
                used += cost
                degraded = degraded or level_no > 0
                break
        else:
            return kept, len(items) - i, True
    return kept, 0, degraded


def shrink_to_fit(build: Callable[[int], BaseModel], n_items: int, max_tokens: int) -> BaseModel:
    """Call `build(n)` with fewer items until the whole answer fits `max_tokens`."""
    n = n_items
    result = build(n)
    while n > 0 and json_tokens(result) > max_tokens:
        n -= 1
        result = build(n)
    return result
