"""Stage 5b, the vector index: usearch, keyed by chunk id, saved atomically with the store
generation it reflects.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexer import lazy_attributes

if TYPE_CHECKING:
    from indexer.vectors.flat import FlatVectors
    from indexer.vectors.index import (
        VectorIndex,
    )

_WHERE = {
    "FlatVectors": "indexer.vectors.flat",
    "VectorIndex": "indexer.vectors.index",
}

__all__ = [
    "FlatVectors",
    "VectorIndex",
]

__getattr__ = lazy_attributes(__name__, _WHERE)
