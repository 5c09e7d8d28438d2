"""The live index: one repository's index kept fresh while it is served or queried
(pending paths, freshness, the watcher, the model tier and its background embedding).

The embedding names are imported on first use (PEP 562): `indexer.live.embedding` brings
usearch and the embedders, which a CLI query without vectors never needs (`sextant search`
on flask imported usearch for ~0.28 s on the loaded 2-core machine)."""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from indexer.live.embedding import (
        VECTOR_DTYPE,
        embed_chunks,
        embedded_text,
    )

__all__ = [
    "VECTOR_DTYPE",
    "EmbeddingState",
    "LiveIndex",
    "LiveOptions",
    "PendingPaths",
    "embed_chunks",
    "embedded_text",
]

_LAZY = {"VECTOR_DTYPE", "embed_chunks", "embedded_text"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from indexer.live import embedding

        return getattr(embedding, name)
    raise AttributeError(f"module 'indexer.live' has no attribute {name!r}")
