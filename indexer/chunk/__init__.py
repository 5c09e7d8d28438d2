"""Stage 3, chunking: one file -> retrievable, non-overlapping units with a context header.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexer import lazy_attributes

if TYPE_CHECKING:
    from indexer.chunk.chunker import (
        ATTACHED,
        chunk_file,
    )

_WHERE = {
    "ATTACHED": "indexer.chunk.chunker",
    "chunk_file": "indexer.chunk.chunker",
}

__all__ = [
    "ATTACHED",
    "chunk_file",
]

__getattr__ = lazy_attributes(__name__, _WHERE)
