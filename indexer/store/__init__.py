"""Stage 4, the store: DuckDB, the source of truth (every table and every DDL statement),
and the in-memory lookup tables search reads from it."""

from indexer.store.db import (
    SCHEMA_VERSION,
    GenerationCache,
    Store,
    StoreCorrupt,
    atomic,
    text_column,
)
from indexer.store.search_tables import (
    MemberRow,
    SearchTables,
    search_tables,
)

__all__ = [
    "SCHEMA_VERSION",
    "GenerationCache",
    "MemberRow",
    "SearchTables",
    "Store",
    "StoreCorrupt",
    "atomic",
    "search_tables",
    "text_column",
]
