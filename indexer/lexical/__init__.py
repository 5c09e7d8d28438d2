"""Stage 5a, the lexical index: BM25 over chunks on tantivy, identifier-aware tokens.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexer import lazy_attributes

if TYPE_CHECKING:
    from indexer.lexical.bm25 import (
        NUMBERED_PARTS_RE,
        PARTS_RE,
        WORD_RE,
        LexicalCorrupt,
        LexicalDoc,
        LexicalIndex,
        ident_body,
        identifier_tokens,
        mark_stale,
        release_token_caches,
        tokenize_for_index,
    )

_WHERE = {
    "LexicalCorrupt": "indexer.lexical.bm25",
    "LexicalDoc": "indexer.lexical.bm25",
    "LexicalIndex": "indexer.lexical.bm25",
    "NUMBERED_PARTS_RE": "indexer.lexical.bm25",
    "PARTS_RE": "indexer.lexical.bm25",
    "WORD_RE": "indexer.lexical.bm25",
    "ident_body": "indexer.lexical.bm25",
    "identifier_tokens": "indexer.lexical.bm25",
    "mark_stale": "indexer.lexical.bm25",
    "release_token_caches": "indexer.lexical.bm25",
    "tokenize_for_index": "indexer.lexical.bm25",
}

__all__ = [
    "NUMBERED_PARTS_RE",
    "PARTS_RE",
    "WORD_RE",
    "LexicalCorrupt",
    "LexicalDoc",
    "LexicalIndex",
    "ident_body",
    "identifier_tokens",
    "mark_stale",
    "release_token_caches",
    "tokenize_for_index",
]

__getattr__ = lazy_attributes(__name__, _WHERE)
