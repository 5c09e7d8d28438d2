"""Stage 5a, the lexical index: BM25 over chunks on tantivy, identifier-aware tokens.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from indexer.lexical.bm25 import (
        PARTS_RE,
        WORD_RE,
        LexicalDoc,
        LexicalIndex,
        ident_body,
        identifier_tokens,
        tokenize_for_index,
    )

_WHERE = {
    "LexicalDoc": "indexer.lexical.bm25",
    "LexicalIndex": "indexer.lexical.bm25",
    "PARTS_RE": "indexer.lexical.bm25",
    "WORD_RE": "indexer.lexical.bm25",
    "ident_body": "indexer.lexical.bm25",
    "identifier_tokens": "indexer.lexical.bm25",
    "tokenize_for_index": "indexer.lexical.bm25",
}

__all__ = [
    "PARTS_RE",
    "WORD_RE",
    "LexicalDoc",
    "LexicalIndex",
    "ident_body",
    "identifier_tokens",
    "tokenize_for_index",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value
