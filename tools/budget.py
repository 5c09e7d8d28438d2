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

from indexer.core import count_tokens, count_tokens_upto
from tools.schema import BaseModel

T = TypeVar("T", bound=BaseModel)
A = TypeVar("A", bound=BaseModel)

DEFAULT_MAX_TOKENS = 4000
MIN_MAX_TOKENS = 200
MAX_MAX_TOKENS = 20000


def json_tokens(model: BaseModel) -> int:
    """Tokens of the answer as MCP clients receive it (the SDK sends JSON indented by 2)."""
    return count_tokens(model.model_dump_json(indent=2))


def json_tokens_upto(model: BaseModel, limit: int) -> int:
    """`json_tokens(model)` when it is at most `limit`, else some number above `limit`
    (`count_tokens_upto`: an answer that does not fit is not counted to its end, and lines
    counted before in the same place of an answer are not counted again)."""
    return count_tokens_upto(model.model_dump_json(indent=2), limit)


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
            room = budget - used - 1
            cost = json_tokens_upto(candidate, room) if room >= 0 else 1
            if cost <= room:
                kept.append(candidate)
                used += cost + 1
                degraded = degraded or level_no > 0
                break
        else:
            return kept, len(items) - i, True
    return kept, 0, degraded


def fit_answer(
    items: Sequence[T],
    levels: Sequence[Callable[[T], T]],
    max_tokens: int,
    build: Callable[[list[T], int, bool], A],
    *,
    items_share: float = 1.0,
    min_items: int = 0,
) -> A:
    """The answer `build(kept, omitted, degraded)` with as many items, as richly rendered, as
    fit `max_tokens`. `items_share` reserves part of the budget for what `build` adds per
    item beyond the item itself (e.g. edges between kept nodes)."""
    whole = build(list(items), 0, False)
    text = whole.model_dump_json(indent=2)
    if len(text.encode()) <= max_tokens or count_tokens_upto(text, max_tokens) <= max_tokens:
        return whole  # a token is at least one byte, so short answers skip the count
    # room for what nesting the items adds (their lines indented deeper); the loop below
    # trims what still overflows. A fixed 40 left no item at all at the smallest budgets
    # (search_code at 300 tokens: 0 results, 124 tokens used)
    envelope = json_tokens(build([], len(items), True)) + min(40, max_tokens // 25)
    room = max(0, int((max_tokens - envelope) * items_share))
    kept, omitted, degraded = fit_items(items, levels, room)
    result = build(kept, omitted, degraded)
    while len(kept) > min_items and json_tokens_upto(result, max_tokens) > max_tokens:
        drop = max(1, len(kept) // 10)
        kept, omitted = kept[:-drop], omitted + drop
        result = build(kept, omitted, True)
    return result
