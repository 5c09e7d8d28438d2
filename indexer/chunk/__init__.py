"""Stage 3, chunking: one file -> retrievable, non-overlapping units with a context header."""

from indexer.chunk.chunker import (
    chunk_file,
)

__all__ = [
    "chunk_file",
]
