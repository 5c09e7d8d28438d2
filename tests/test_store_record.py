"""FileRecord crosses from parse workers as columns; what comes out must equal what went in."""

from __future__ import annotations

import importlib.util
import pickle
import subprocess
import sys
from pathlib import Path

from indexer.build.pipeline import IndexOptions, process_file
from indexer.discover.walk import FileEntry
from indexer.disk import IndexPaths
from indexer.parse.record import FileRecord
from indexer.store.db import Store

GO = b'''package demo

import (
\t"fmt"
\tstrs "strings"
)

// Greeter greets.
type Greeter struct {
\tName string
}

// Greet says hello.
func (g *Greeter) Greet(to string) string {
\treturn fmt.Sprintf("%s greets %s", g.Name, strs.ToUpper(to))
}
'''
MD = b"# Title\n\nSome text.\n\n## Install\n\nRun `make`.\n"


def _record(tmp_path: Path, name: str, data: bytes) -> FileRecord:
    path = tmp_path / name
    path.write_bytes(data)
    st = path.stat()
    rec = process_file(FileEntry(name, path, st.st_size, st.st_mtime_ns), IndexOptions())
    assert isinstance(rec, FileRecord)
    return rec


def test_pickled_record_rebuilds_the_same_objects(tmp_path: Path) -> None:
    for name, data in (("demo.go", GO), ("README.md", MD)):
        rec = _record(tmp_path, name, data)
        back = pickle.loads(pickle.dumps(rec))
        assert back.parsed == rec.parsed
        assert back.chunks == rec.chunks
        assert back.n_chunks == len(rec.chunks)
        assert back.n_symbols == (len(rec.parsed.symbols) if rec.parsed else 0)
        assert (back.path, back.language, back.size, back.lines, back.chunk_hashes,
                back.lexical) == (rec.path, rec.language, rec.size, rec.lines,
                                  rec.chunk_hashes, rec.lexical)
    assert _record(tmp_path, "demo.go", GO).parsed.symbols  # the fixture has symbols


def test_store_rows_equal_for_fresh_and_pickled_records(tmp_path: Path) -> None:
    rows = []
    for i, copy in enumerate((False, True)):
        recs = [_record(tmp_path, n, d) for n, d in (("demo.go", GO), ("README.md", MD))]
        if copy:
            recs = pickle.loads(pickle.dumps(recs))
        store = Store(tmp_path / f"s{i}.duckdb")
        store.write_files(recs)
        rows.append({t: store.query(f"SELECT * EXCLUDE (file_id) FROM {t} ORDER BY ALL")
                     for t in ("symbols", "refs", "imports")}
                    | {"chunks": store.query("SELECT * EXCLUDE (file_id, chunk_id) "
                                             "FROM chunks ORDER BY ALL")})
        store.close()
    assert rows[0] == rows[1]
    assert rows[0]["symbols"] and rows[0]["refs"] and rows[0]["imports"] and rows[0]["chunks"]


def test_workers_do_not_import_the_store() -> None:
    code = ("import sys, indexer.build.pipeline, indexer.parse.record; "
            "print(sorted(m for m in ('duckdb', 'pyarrow', 'tantivy', 'numpy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]"


def test_sextant_index_imports_only_the_indexer() -> None:
    """`sextant index` (cli -> commands -> pipeline, store, lexical) stays off pyarrow,
    usearch, pydantic and the MCP stack: each is resident memory the indexer does not use."""
    code = ("import sys, mcp_server.cli, mcp_server.commands, indexer.build.pipeline, "
            "indexer.disk.repo, indexer.graph.build, indexer.summaries.build; "
            "print(sorted(m for m in ('pyarrow', 'usearch', 'pydantic', "
            "'mcp', 'starlette', 'uvicorn', 'tools', 'tiktoken') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]"


def test_read_only_search_imports_no_pipeline_and_writes_nothing(tmp_path: Path) -> None:
    """`sextant search --no-refresh` on an index starts without numpy, pathspec, the worker
    pool, pydantic or the `duckdb` package's Python layer (CLI start, docs/benchmarks.md); with
    a refresh of an unchanged tree, still without the worker pool or pydantic; and a
    search with refresh on an unchanged tree leaves the store exactly as it was (no
    skipped-table rewrite, no graph or summary rebuild: the store generation records what
    each reflects)."""
    root = Path(__file__).resolve().parent.parent
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "a.py").write_text("import os\n\ndef register_rule(x):\n    return x\n")
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))  # skipped
    cli = [sys.executable, "-m", "mcp_server.cli"]
    subprocess.run([*cli, "index", "--repo", str(repo), "--no-embed"], check=True, cwd=root,
                   capture_output=True)
    code = ("import runpy, sys; sys.argv = ['sextant', 'search', '--repo', sys.argv[1], "
            "*sys.argv[2:], '--mode', 'lexical', 'register rule']\n"
            "try:\n    runpy.run_module('mcp_server.cli', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('numpy', 'pathspec', 'multiprocessing', 'pydantic', "
            "'indexer.build.pipeline', 'usearch', 'duckdb') if m in sys.modules), "
            "file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code, str(repo), "--no-refresh"],
                         capture_output=True, text=True, check=True, cwd=root)
    assert "pkg/a.py" in out.stdout
    # DuckDB >= 1.4 is its extension `_duckdb` under a Python layer the store does not use
    lean = importlib.util.find_spec("_duckdb") is not None
    assert out.stderr.strip().splitlines()[-1] == ("[]" if lean else "['duckdb']")
    out = subprocess.run([sys.executable, "-c", code, str(repo)], capture_output=True,
                         text=True, check=True, cwd=root)
    assert "pkg/a.py" in out.stdout
    imported = out.stderr.strip().splitlines()[-1]
    assert "multiprocessing" not in imported and "pydantic" not in imported, imported

    def snapshot() -> tuple[object, ...]:
        store = Store(IndexPaths.for_repo(repo).store)
        try:
            return (store.query("SELECT key, value FROM meta ORDER BY key"),
                    store.query("SELECT * FROM skipped ORDER BY path"),
                    store.query("SELECT * FROM dir_summaries ORDER BY path"))
        finally:
            store.close()

    before = snapshot()
    subprocess.run([*cli, "search", "--repo", str(repo), "--mode", "lexical", "register"],
                   check=True, cwd=root, capture_output=True)
    assert snapshot() == before


def test_bulk_load_lowers_and_restores_duckdb_settings(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")

    def settings() -> tuple[object, ...]:
        row = store.query_one("SELECT current_setting('threads'), current_setting('memory_limit')")
        assert row is not None
        return row

    before = settings()
    with store.bulk_load():
        assert settings()[0] == 1 and settings() != before
    assert settings() == before
    store.close()


def test_meta_reads_are_cached_and_every_write_is_seen(tmp_path: Path, monkeypatch) -> None:
    """A write of meta keeps the cached rows it did not write and caches the ones it did (a
    batch of edits writes a few keys: the first calls after it read none again); a write
    that failed forgets them all."""
    store = Store(tmp_path / "s.duckdb")
    try:
        start = store.generation
        store.set_meta("graph_generation", "3")
        calls: list[str] = []
        real = store.query_one
        monkeypatch.setattr(store, "query_one", lambda sql, params=None: (
            calls.append(sql), real(sql, params))[1])
        assert store.generation == start and not calls  # read once above, kept
        store.set_meta("probe", "1")
        assert store.generation == start and store.get_meta("probe") == "1"
        assert store.get_meta("graph_generation") == "3" and not calls
        with store.transaction():
            pass
        assert store.generation == start + 1  # a committed write is seen at once
        assert store.get_meta("probe") == "1" and not calls
        store.set_meta("graph_generation", "7")
        assert store.get_meta("graph_generation") == "7" and not calls
        try:
            with store.transaction():
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        assert store.generation == start + 1  # a rolled-back write leaves it unchanged
        assert store.get_meta("graph_generation") == "7" and len(calls) == 2  # read again
        assert real("SELECT value FROM meta WHERE key='generation'") == (str(start + 1),)
    finally:
        store.close()
