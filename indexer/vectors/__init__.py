"""Stage 5b, the vector index: usearch, keyed by chunk id, saved atomically with the store
generation it reflects.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from indexer.vectors.index import (
        VectorIndex,
    )

_WHERE = {
    "VectorIndex": "indexer.vectors.index",
}

__all__ = [
    "VectorIndex",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value
