"""Stage 4, the store: DuckDB, the source of truth (every table and every DDL statement),
and the in-memory lookup tables search reads from it.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexer import lazy_attributes

if TYPE_CHECKING:
    from indexer.store.db import (
        EDGES_GENERATION,
        SCHEMA_VERSION,
        GenerationCache,
        Store,
        StoreCorrupt,
        atomic,
        generation_of,
        keep_equal,
        readable_schema,
        same_rows,
        text_column,
    )
    from indexer.store.integrity import (
        looks_damaged,
        move_aside,
    )
    from indexer.store.lookup import (
        ChunkMeta,
        MemberRow,
        SearchTables,
        loaded_search_tables,
        search_tables,
    )

_WHERE = {
    "SCHEMA_VERSION": "indexer.store.db",
    "EDGES_GENERATION": "indexer.store.db",
    "GenerationCache": "indexer.store.db",
    "Store": "indexer.store.db",
    "StoreCorrupt": "indexer.store.db",
    "atomic": "indexer.store.db",
    "generation_of": "indexer.store.db",
    "keep_equal": "indexer.store.db",
    "readable_schema": "indexer.store.db",
    "same_rows": "indexer.store.db",
    "text_column": "indexer.store.db",
    "looks_damaged": "indexer.store.integrity",
    "move_aside": "indexer.store.integrity",
    "ChunkMeta": "indexer.store.lookup",
    "MemberRow": "indexer.store.lookup",
    "SearchTables": "indexer.store.lookup",
    "search_tables": "indexer.store.lookup",
    "loaded_search_tables": "indexer.store.lookup",
}

__all__ = [
    "EDGES_GENERATION",
    "SCHEMA_VERSION",
    "ChunkMeta",
    "GenerationCache",
    "MemberRow",
    "SearchTables",
    "Store",
    "StoreCorrupt",
    "atomic",
    "generation_of",
    "keep_equal",
    "loaded_search_tables",
    "looks_damaged",
    "move_aside",
    "readable_schema",
    "same_rows",
    "search_tables",
    "text_column",
]

__getattr__ = lazy_attributes(__name__, _WHERE)
