"""Bodies reach tantivy already split (`ident_body`), and text chunks are counted in two
parts (`count_tokens_after`): both must give exactly what they replace."""

from __future__ import annotations

import tantivy

from indexer.core.tokens import count_tokens, count_tokens_after
from indexer.lexical.bm25 import _IDENT_PATTERN, ident_body

SAMPLES = [
    "",
    "   \n\t",
    "HTTPServer getUserName x509Cert __init__ ABCdefGHI 123abc456 a1B2c3",
    "func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {\n\treturn nil\n}",
    "ÄbcDef ǅx Ωmega café naïve ＡＢＣ ﬁle İstanbul straße KELVIN\u212a",
    "a\x00b\tc\r\nd\x0be\x0cf \ufffd g",
    "snake_case_name kebab-case-name CONSTANT_VALUE mixedUP_Case",
]


def test_ident_body_yields_the_ident_tokenizer_tokens() -> None:
    analyzer = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(_IDENT_PATTERN)).filter(
        tantivy.Filter.lowercase()).build()
    for text in SAMPLES:
        assert ident_body(text).split() == analyzer.analyze(text), repr(text)
        assert ident_body(text, keep=True) == ident_body(text)
        assert ident_body(text, keep=True) == ident_body(text)  # again, from the cache


def test_count_tokens_after_is_the_count_of_the_joined_text() -> None:
    heads = ["path/to/file.md", "// path/to/file.go\n// Server", "a\n  b  "]
    texts = [*SAMPLES, "  indented first line\nnext", "\nleading newline",
             "x = 1\n" * 100, "# Title\n\nSome text.\n" * 40]
    for head in heads:
        for text in texts:
            assert count_tokens_after(head, text) == count_tokens(head + "\n" + text)
            assert count_tokens_after(head, text) == count_tokens(head + "\n" + text)
