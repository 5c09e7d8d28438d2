"""Stage 5b, the vector index: usearch, keyed by chunk id, saved atomically with the store
generation it reflects."""

from indexer.vectors.flat import (
    FlatVectors,
)
from indexer.vectors.index import (
    VectorIndex,
)

__all__ = [
    "FlatVectors",
    "VectorIndex",
]
