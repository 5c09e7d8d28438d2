"""Plain data types and the small shared services of every stage: token counting, crash-safe
file writes, a bounded text memo, crash-isolated worker processes.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from indexer.core.fsutil import (
        atomic_target,
        atomic_write_bytes,
    )
    from indexer.core.model import (
        Chunk,
        Import,
        ParsedFile,
        Reference,
        Symbol,
    )
    from indexer.core.textcache import (
        TextCache,
    )
    from indexer.core.tokens import (
        count_tokens,
        count_tokens_after,
        count_tokens_lines,
        encoding,
    )
    from indexer.core.workers import (
        CRASH_REASON,
        WorkerPool,
    )

_WHERE = {
    "atomic_target": "indexer.core.fsutil",
    "atomic_write_bytes": "indexer.core.fsutil",
    "Chunk": "indexer.core.model",
    "Import": "indexer.core.model",
    "ParsedFile": "indexer.core.model",
    "Reference": "indexer.core.model",
    "Symbol": "indexer.core.model",
    "TextCache": "indexer.core.textcache",
    "count_tokens": "indexer.core.tokens",
    "count_tokens_after": "indexer.core.tokens",
    "count_tokens_lines": "indexer.core.tokens",
    "encoding": "indexer.core.tokens",
    "CRASH_REASON": "indexer.core.workers",
    "WorkerPool": "indexer.core.workers",
}

__all__ = [
    "CRASH_REASON",
    "Chunk",
    "Import",
    "ParsedFile",
    "Reference",
    "Symbol",
    "TextCache",
    "WorkerPool",
    "atomic_target",
    "atomic_write_bytes",
    "count_tokens",
    "count_tokens_after",
    "count_tokens_lines",
    "encoding",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value
