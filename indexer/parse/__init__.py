"""Stage 2, parsing: source bytes -> symbols, references and imports (tree-sitter), and the
per-file record a parse worker hands to the store.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexer import lazy_attributes

if TYPE_CHECKING:
    from indexer.parse.record import (
        FileRecord,
    )
    from indexer.parse.treesitter import (
        parse_source,
        raw_parse,
    )

_WHERE = {
    "FileRecord": "indexer.parse.record",
    "parse_source": "indexer.parse.treesitter",
    "raw_parse": "indexer.parse.treesitter",
}

__all__ = [
    "FileRecord",
    "parse_source",
    "raw_parse",
]

__getattr__ = lazy_attributes(__name__, _WHERE)
