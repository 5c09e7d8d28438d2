"""Plain data types and the small shared services of every stage: token counting, crash-safe
file writes, a bounded text memo, crash-isolated worker processes."""

from indexer.core.fsutil import (
    atomic_target,
    atomic_write_bytes,
)
from indexer.core.model import (
    Chunk,
    Import,
    ParsedFile,
    Reference,
    Symbol,
)
from indexer.core.textcache import (
    TextCache,
)
from indexer.core.tokens import (
    count_tokens,
    count_tokens_after,
    count_tokens_lines,
    encoding,
)
from indexer.core.workers import (
    CRASH_REASON,
    WorkerPool,
)

__all__ = [
    "CRASH_REASON",
    "Chunk",
    "Import",
    "ParsedFile",
    "Reference",
    "Symbol",
    "TextCache",
    "WorkerPool",
    "atomic_target",
    "atomic_write_bytes",
    "count_tokens",
    "count_tokens_after",
    "count_tokens_lines",
    "encoding",
]
