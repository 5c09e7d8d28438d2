"""Stage 2, parsing: source bytes -> symbols, references and imports (tree-sitter), and the
per-file record a parse worker hands to the store.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value
