"""Stage 3, chunking: one file -> retrievable, non-overlapping units with a context header.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from indexer.chunk.chunker import (
        chunk_file,
    )

_WHERE = {
    "chunk_file": "indexer.chunk.chunker",
}

__all__ = [
    "chunk_file",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value
