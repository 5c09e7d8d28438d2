"""Stage 5a, the lexical index: BM25 over chunks on tantivy, identifier-aware tokens."""

from indexer.lexical.bm25 import (
    PARTS_RE,
    WORD_RE,
    LexicalDoc,
    LexicalIndex,
    ident_body,
    identifier_tokens,
    tokenize_for_index,
)

__all__ = [
    "PARTS_RE",
    "WORD_RE",
    "LexicalDoc",
    "LexicalIndex",
    "ident_body",
    "identifier_tokens",
    "tokenize_for_index",
]
