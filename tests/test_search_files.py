"""Whole-file BM25 in the lexical index and the file prior in search_code's ranking."""

from __future__ import annotations

from pathlib import Path

from indexer.lexical import LexicalDoc, LexicalIndex
from tools.search import _Candidate, _file_prior, plan_query
from tools.search_tables import SearchTables


def _doc(cid: int, path: str, body: str, language: str = "python") -> LexicalDoc:
    return LexicalDoc(chunk_id=cid, path=path, language=language, name="", header="", body=body)


DOCS = [
    _doc(1, "pkg/serving.py", "def run_simple(host):\n    sock = make_socket(host)"),
    _doc(2, "pkg/serving.py", "def write_chunk(data):\n    return tempfile.mkstemp()"),
    _doc(3, "pkg/files.py", "class FileStorage:\n    def save(self, file): pass"),
    _doc(4, "README.md", "mkstemp and sockets, explained", language="text"),
]


def test_a_code_file_is_one_more_document_found_by_words_spread_over_its_chunks(
        tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lex")
    index.update(DOCS, (), 1)
    assert index.num_docs() == len(DOCS)  # file documents are not counted
    files = index.search_files([("socket", 1.0), ("mkstemp", 1.0)], 5)
    assert [cid for cid, _ in files] == [1]  # serving.py, under its first chunk's id
    assert all(cid != 4 for cid, _ in index.search_files([("mkstemp", 1.0)], 5))  # prose: none
    assert {cid for cid, _ in index.search("mkstemp", 10)} == {2, 4}  # chunk queries: chunks


def test_deleting_a_path_removes_its_file_document_too(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lex")
    index.update(DOCS, (), 1)
    index.update([_doc(5, "pkg/serving.py", "def run_simple(host): pass")], ["pkg/serving.py"], 2)
    assert index.num_docs() == 3
    assert index.search_files([("mkstemp", 1.0)], 5) == []
    assert [cid for cid, _ in index.search_files([("run", 1.0), ("simple", 1.0)], 5)] == [5]


def test_an_index_without_file_documents_is_rebuilt_on_open(tmp_path: Path) -> None:
    import tantivy

    old = tantivy.SchemaBuilder()
    old.add_integer_field("chunk_id", stored=True, indexed=True, fast=True)
    (tmp_path / "lex").mkdir()
    tantivy.Index(old.build(), path=str(tmp_path / "lex"))
    index = LexicalIndex(tmp_path / "lex")
    assert index.generation == -1  # behind every store: the caller rebuilds it
    index.update(DOCS, (), 1)
    assert index.search_files([("mkstemp", 1.0)], 5)


def test_the_file_prior_lifts_every_chunk_of_a_file_by_its_whole_file_rank() -> None:
    tables = SearchTables(key=(0, None), chunks={1: (10, 1, 5, None, "block"),
                                                 2: (10, 6, 9, None, "block"),
                                                 3: (20, 1, 9, None, "block")},
                          files={10: ("a.py", "python"), 20: ("b.py", "python")},
                          file_chunks={}, symbols={}, names=[], rank={}, importers={})
    fused = {cid: _Candidate(cid, score=0.01) for cid in (1, 2, 3)}
    _file_prior(tables, fused, [(1, 9.0), (3, 4.0)])  # a.py first, then b.py
    assert fused[1].score == fused[2].score > fused[3].score > 0.01


def test_query_tokens_keep_whole_words_but_not_the_bare_numbers_inside_them() -> None:
    plan = plan_query("use base64 instead of hex for the SHA1 digest")
    tokens = plan.lexical.split()
    assert {"base64", "base", "sha1", "sha", "hex", "digest"} <= set(tokens)
    assert "64" not in tokens and "1" not in tokens
    assert all(w == 1.0 for _, w in plan.terms)
