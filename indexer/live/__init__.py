"""The live index: one repository's index kept fresh while it is served or queried
(pending paths, freshness, the watcher, the model tier and its background embedding)."""

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
