"""The live index: one repository's index kept fresh while it is served or queried
(pending paths, freshness, the watcher, the model tier and its background embedding).

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexer import lazy_attributes

if TYPE_CHECKING:
    from indexer.embed import embedded_text
    from indexer.live.embedding import (
        VECTOR_DTYPE,
        embed_chunks,
    )
    from indexer.live.index import (
        LiveIndex,
        LiveOptions,
    )
    from indexer.live.pending import (
        PendingPaths,
    )
    from indexer.live.state import (
        Coverage,
        EmbeddingState,
    )

_WHERE = {
    "Coverage": "indexer.live.state",
    "VECTOR_DTYPE": "indexer.live.embedding",
    "embed_chunks": "indexer.live.embedding",
    "embedded_text": "indexer.embed.protocol",
    "LiveIndex": "indexer.live.index",
    "LiveOptions": "indexer.live.index",
    "PendingPaths": "indexer.live.pending",
    "EmbeddingState": "indexer.live.state",
}

__all__ = [
    "VECTOR_DTYPE",
    "Coverage",
    "EmbeddingState",
    "LiveIndex",
    "LiveOptions",
    "PendingPaths",
    "embed_chunks",
    "embedded_text",
]

__getattr__ = lazy_attributes(__name__, _WHERE)
