"""The live index: one repository's index kept fresh while it is served or queried
(pending paths, freshness, the watcher, the model tier and its background embedding).

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from indexer.live.embedding import (
        VECTOR_DTYPE,
        embed_chunks,
        embedded_text,
    )
    from indexer.live.index import (
        LiveIndex,
        LiveOptions,
    )
    from indexer.live.pending import (
        PendingPaths,
    )
    from indexer.live.state import (
        EmbeddingState,
    )

_WHERE = {
    "VECTOR_DTYPE": "indexer.live.embedding",
    "embed_chunks": "indexer.live.embedding",
    "embedded_text": "indexer.live.embedding",
    "LiveIndex": "indexer.live.index",
    "LiveOptions": "indexer.live.index",
    "PendingPaths": "indexer.live.pending",
    "EmbeddingState": "indexer.live.state",
}

__all__ = [
    "VECTOR_DTYPE",
    "EmbeddingState",
    "LiveIndex",
    "LiveOptions",
    "PendingPaths",
    "embed_chunks",
    "embedded_text",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value
