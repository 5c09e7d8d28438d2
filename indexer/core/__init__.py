"""Plain data types and the small shared services of every stage: token counting, crash-safe
file writes, a bounded text memo, crash-isolated worker processes, the C heap's settings,
the caches a settled server forgets, a readers-writer lock.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexer import lazy_attributes

if TYPE_CHECKING:
    from indexer.core.duck import duckdb
    from indexer.core.fsutil import (
        atomic_target,
        atomic_write_bytes,
        cache_dir,
        fsync_path,
    )
    from indexer.core.heap import (
        configure_heap,
        discard_pages,
        release_file_mappings,
        release_mapped_array,
        release_mapping,
        trim_heap,
    )
    from indexer.core.idle import forget_settled, on_settle
    from indexer.core.locks import RWLock
    from indexer.core.model import (
        Chunk,
        Import,
        ParsedFile,
        Reference,
        Symbol,
    )
    from indexer.core.textcache import TextCache
    from indexer.core.tokens import (
        count_in_python,
        count_tokens,
        count_tokens_after,
        count_tokens_lines,
        count_tokens_upto,
        encoding,
        forget_answer_counts,
    )
    from indexer.core.workers import (
        CRASH_REASON,
        WorkerPool,
        stop_resource_tracker,
    )

_WHERE = {
    "duckdb": "indexer.core.duck",
    "atomic_target": "indexer.core.fsutil",
    "cache_dir": "indexer.core.fsutil",
    "atomic_write_bytes": "indexer.core.fsutil",
    "fsync_path": "indexer.core.fsutil",
    "Chunk": "indexer.core.model",
    "Import": "indexer.core.model",
    "ParsedFile": "indexer.core.model",
    "Reference": "indexer.core.model",
    "Symbol": "indexer.core.model",
    "TextCache": "indexer.core.textcache",
    "configure_heap": "indexer.core.heap",
    "discard_pages": "indexer.core.heap",
    "release_file_mappings": "indexer.core.heap",
    "forget_settled": "indexer.core.idle",
    "on_settle": "indexer.core.idle",
    "RWLock": "indexer.core.locks",
    "release_mapped_array": "indexer.core.heap",
    "release_mapping": "indexer.core.heap",
    "trim_heap": "indexer.core.heap",
    "count_tokens": "indexer.core.tokens",
    "count_tokens_after": "indexer.core.tokens",
    "count_tokens_lines": "indexer.core.tokens",
    "count_in_python": "indexer.core.tokens",
    "count_tokens_upto": "indexer.core.tokens",
    "forget_answer_counts": "indexer.core.tokens",
    "encoding": "indexer.core.tokens",
    "CRASH_REASON": "indexer.core.workers",
    "WorkerPool": "indexer.core.workers",
    "stop_resource_tracker": "indexer.core.workers",
}

__all__ = [
    "CRASH_REASON",
    "Chunk",
    "Import",
    "ParsedFile",
    "RWLock",
    "Reference",
    "Symbol",
    "TextCache",
    "WorkerPool",
    "atomic_target",
    "atomic_write_bytes",
    "cache_dir",
    "configure_heap",
    "count_in_python",
    "count_tokens",
    "count_tokens_after",
    "count_tokens_lines",
    "count_tokens_upto",
    "discard_pages",
    "duckdb",
    "encoding",
    "forget_answer_counts",
    "forget_settled",
    "fsync_path",
    "on_settle",
    "release_file_mappings",
    "release_mapped_array",
    "release_mapping",
    "stop_resource_tracker",
    "trim_heap",
]

__getattr__ = lazy_attributes(__name__, _WHERE)
