"""Stage 4, the store: DuckDB, the source of truth (every table and every DDL statement),
and the in-memory lookup tables search reads from it."""

from indexer.store.db import (
    GenerationCache,
    Store,
    StoreCorrupt,
    atomic,
    text_column,
)
from indexer.store.integrity import looks_damaged, move_aside
from indexer.store.search_tables import (
    MemberRow,
    SearchTables,
    search_tables,
)

__all__ = [
    "GenerationCache",
    "MemberRow",
    "SearchTables",
    "Store",
    "StoreCorrupt",
    "atomic",
    "looks_damaged",
    "move_aside",
    "search_tables",
    "text_column",
]
