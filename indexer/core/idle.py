"""Caches a settled server forgets.

Each module cache that a burst of tool calls or a lexical rebuild fills, and that the next
calls fill again at little cost, registers how to empty itself when its module is imported
(`on_settle`: the token counts of answers, the lexical tokenizer's caches, the search's word
caches); a live index that settles after a quiet while (`LiveIndex.settle`) empties them all
(`forget_settled`). A cache whose module was never imported holds nothing; and the live
index names none of them, so the tools' caches need no import running back up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

_FORGET: list[Callable[[], None]] = []
_LOCK = threading.Lock()


def on_settle(forget: Callable[[], None]) -> Callable[[], None]:
    """Have `forget()` run each time a live index settles (once per callable)."""
    with _LOCK:
        if forget not in _FORGET:
            _FORGET.append(forget)
    return forget


def forget_settled() -> None:
    """Empty every registered cache."""
    with _LOCK:
        hooks = list(_FORGET)
    for forget in hooks:
        forget()
