"""Stage 2, parsing: source bytes -> symbols, references and imports (tree-sitter), and the
per-file record a parse worker hands to the store."""

from indexer.parse.record import (
    FileRecord,
)
from indexer.parse.treesitter import (
    parse_source,
    raw_parse,
)

__all__ = [
    "FileRecord",
    "parse_source",
    "raw_parse",
]
