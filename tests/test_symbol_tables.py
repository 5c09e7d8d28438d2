"""get_symbol's definitions and expand_dependencies' file outlines come from the search
tables (`SearchTables.definitions`, `SearchTables.outline`), not from scans of DuckDB's
symbols table (4-15 ms a call on moby): the same rows as the SQL they replaced, on a real
corpus, and no such scan left on their paths."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from indexer.live import LiveIndex
from indexer.store import Store, search_tables
from tests.mcp_helpers import indexed_live
from tools.deps import _file_details, expand_dependencies
from tools.symbols import get_symbol

_COLS = """s.name, s.qualname, s.kind, f.path, s.start_line, s.end_line, f.language,
           coalesce(s.signature, ''), coalesce(s.doc, '')"""

_OUTLINE_SQL = """
SELECT path, list(sig ORDER BY k, start_line)[1:4], list(doc ORDER BY k, start_line)[1:4] FROM (
  SELECT f.path, s.signature AS sig, s.doc, s.start_line,
         CASE WHEN s.kind IN ('class','interface','struct','trait','enum') THEN 0
              WHEN s.kind IN ('function','method') THEN 1 ELSE 2 END AS k
  FROM symbols s JOIN files f USING (file_id)
  WHERE s.parent IS NULL OR s.kind = 'method')
GROUP BY path"""


@pytest.fixture(scope="module")
def flask(corpus: Callable[[str], Path],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIndex]:
    yield from indexed_live(corpus("flask"), tmp_path_factory.mktemp("flask-idx"))


def _sorted(rows: Any) -> list[tuple[Any, ...]]:
    return sorted(tuple(r[:9]) for r in rows)


def test_definitions_are_the_rows_the_sql_finds_for_every_name(flask: LiveIndex) -> None:
    store = flask.index.store
    tables = search_tables(store)
    quals = [r[0] for r in store.query("SELECT DISTINCT qualname FROM symbols")]
    assert len(quals) > 500
    for qual in quals:
        for name in {qual, qual.rsplit(".", 1)[-1], qual.split(".", 1)[-1]}:
            want = store.query(f"SELECT {_COLS} FROM symbols s JOIN files f USING (file_id) "
                               "WHERE s.qualname = ? OR suffix(s.qualname, ?)", [name, "." + name])
            assert _sorted(tables.definitions(name)) == _sorted(want), name
            want = store.query(f"SELECT {_COLS} FROM symbols s JOIN files f USING (file_id) "
                               "WHERE s.name = ?", [name])
            assert _sorted(tables.definitions(name, qualified=False)) == _sorted(want), name
    rows = tables.definitions("App.add_url_rule")
    assert [(r[1], r[3]) for r in rows] == [("App.add_url_rule", "src/flask/sansio/app.py")]


def test_file_details_are_what_the_sql_aggregate_said_for_every_file(flask: LiveIndex) -> None:
    store = flask.index.store
    want: dict[str, tuple[str, str]] = {}
    for path, sigs, docs in store.query(_OUTLINE_SQL):
        doc = next((d.strip().split("\n", 1)[0] for d in docs if d and d.strip()), "")
        want[path] = ("; ".join(s[:120] for s in sigs if s), doc[:200])
    paths = [r[0] for r in store.query("SELECT path FROM files")]
    got = _file_details(flask, [*paths, "no/such/file.py"])
    assert len(want) > 40 and got == want


def _repo(root: Path) -> None:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg/base.py").write_text(
        'class App:\n    def add_url_rule(self, rule):\n        """Base rule."""\n'
        '        return rule\n\n    def addXurlXrule(self, rule):\n        return rule\n')
    (root / "pkg/app.py").write_text(
        "from pkg.base import App\n\n\n"
        'class Flask(App):\n    """The app.\n\n    More words.\n    """\n\n'
        "    def route(self, rule):\n        return self.add_url_rule(rule)\n\n\n"
        "def add_url_rule(rule):\n    return rule\n\n\n"
        "def addXurlXrule(rule):\n    return rule\n")


def test_names_are_matched_as_written_not_as_sql_patterns(tmp_path: Path) -> None:
    """`_` was a LIKE wildcard in the SQL suffix match: `add_url_rule` found `addXurlXrule`."""
    _repo(tmp_path / "repo")
    with contextmanager(indexed_live)(tmp_path / "repo", tmp_path / "idx") as live:
        got = get_symbol(live, "add_url_rule", include_body=False)
        assert sorted(s.qualname for s in got.symbols) == ["App.add_url_rule", "add_url_rule"]
        inherited = get_symbol(live, "Flask.add_url_rule", include_body=False)
        assert [(s.qualname, s.match, s.doc) for s in inherited.symbols] == [
            ("App.add_url_rule", "inherited", "Base rule.")]


def test_symbols_and_outlines_scan_no_symbols_table(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path / "repo")
    with contextmanager(indexed_live)(tmp_path / "repo", tmp_path / "idx") as live:
        search_tables(live.index.store)  # loaded once per generation, as a server does
        seen: list[str] = []
        query = Store.query

        def recording(self: Store, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
            seen.append(sql)
            return query(self, sql, params)

        monkeypatch.setattr(Store, "query", recording)
        got = get_symbol(live, "Flask.route")
        assert [s.qualname for s in got.symbols] == ["Flask.route"] and got.symbols[0].body
        assert get_symbol(live, "route").symbols[0].qualname == "Flask.route"
        result = expand_dependencies(live, "pkg/app.py", "out", 1, max_tokens=8000)
        base = next(n for n in result.nodes if n.id == "pkg/base.py")
        assert "class App" in base.signature
        assert not [sql for sql in seen if "symbols" in sql], seen


def _content(t: Any) -> dict[str, Any]:
    """Everything the search tables answer, as plain values."""
    return {
        "chunks": dict(t.chunks.items()), "files": t.files, "file_ids": t.file_ids,
        "of_file": {fid: t.chunks.of_file(fid) for fid in t.files},
        "symbols": {name: t.symbols[name] for name in t.symbols}, "names": t.names,
        "members": {fid: t.members[fid] for fid in t.members},
        "definitions": {n: t.definitions(n) for n in t.names},
        "exact": {n: t.definitions(n, qualified=False) for n in t.names},
        "outline": {fid: t.outline(fid) for fid in t.files},
        "rank": t.rank, "importers": t.importers,
    }


def test_search_tables_updated_after_edits_equal_tables_read_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a batch, the search tables are the last ones without the files it removed or
    wrote again (a file written again has a new file id) and with the files it wrote
    (`build_search_tables`): the same answers as a read of everything, through an edit
    with a new symbol and kind, a new file, a deleted one, a generation that changed no
    file (kept as they were) and a batch over a tenth of the files (read whole)."""
    from indexer.build import apply_resolved
    from indexer.store import lookup
    from tests.mcp_helpers import live_over

    files = {f"pkg/m{i:02d}.py": f'def run_{i}(x):\n    """Run {i}."""\n    return x\n\n\n'
             f"class C{i}:\n    def run(self):\n        return run_{i}(1)\n" for i in range(30)}
    files["pkg/notes.md"] = "# Notes\n\nWhere things run.\n"
    reads: list[int] = []
    whole_read = lookup._load_chunks
    monkeypatch.setattr(lookup, "_load_chunks", lambda store: reads.append(1) or whole_read(store))
    with live_over(tmp_path, files) as live:
        store, root = live.index.store, live.root

        def reload() -> lookup.SearchTables:
            return search_tables(store, wait=True)

        def whole() -> lookup.SearchTables:
            return lookup.build_search_tables(store, (store.generation, None), None)

        before = reload()
        assert reads == [1]
        sorted_whole: list[int] = []  # tables whose names were all lower-cased and sorted
        made = lookup.SymbolTable.__init__

        def counted(table: lookup.SymbolTable, *args: Any) -> None:
            sorted_whole.append(1)
            made(table, *args)

        monkeypatch.setattr(lookup.SymbolTable, "__init__", counted)
        (root / "pkg/m03.py").write_text(
            'def run_3(x):\n    return "changed"\n\n\nclass Brand_New:\n    """New."""\n\n'
            "    def fresh_method(self):\n        pass\n\n\nWEIRD = lambda: 1\n")
        (root / "pkg/new.py").write_text("def run_3(y):\n    return y\n")
        (root / "pkg/m00.py").unlink()
        apply_resolved(live.index, ["pkg/m03.py", "pkg/new.py", "pkg/m00.py"], set(),
                       live.index_options)
        after = reload()
        assert reads == [1], "read whole"
        assert sorted_whole == [], "the symbols' names sorted whole"
        assert after.chunks is not before.chunks and after.file_ids != before.file_ids
        read = whole()
        assert _content(after) == _content(read) and after.members._keys == read.members._keys
        assert [d[3] for d in after.definitions("run_3")] == ["pkg/m03.py", "pkg/new.py"]
        assert after.definitions("Brand_New.fresh_method") and "pkg/m00.py" not in after.file_ids

        store.set_meta("graph_generation", "99")  # a new key, no file written
        same = reload()
        assert same is not after and same.chunks is after.chunks
        assert same.symbols is after.symbols and same.members is after.members

        for path in [f"pkg/m{i:02d}.py" for i in range(5, 10)]:  # a sixth of the files
            (root / path).write_text((root / path).read_text() + "\n# edited\n")
        apply_resolved(live.index, [f"pkg/m{i:02d}.py" for i in range(5, 10)], set(),
                       live.index_options)
        assert _content(reload()) == _content(whole())
        assert len(reads) == 4  # read whole (and by each `whole()`)


def test_a_generation_keeps_the_last_ones_objects_for_what_did_not_change(
        tmp_path: Path) -> None:
    """A live index loads the search tables of every batch's generation among that batch's
    garbage; what they make anew keeps the pages of that garbage from being given back
    (moby: +7 MB of Python's memory after 30 s of edits). What did not change is the last
    generation's objects: the files' entries, the names (interned), the ranks and the
    importer sets, and the graph tables' file ids and ranks; and the answers are a whole
    read's."""
    from indexer.build import apply_resolved
    from indexer.graph import graph_tables
    from indexer.store import lookup
    from tests.mcp_helpers import live_over

    files = {f"pkg/m{i:02d}.py": f"from pkg.m{(i + 1) % 20:02d} import RunThing{(i + 1) % 20}\n\n"
             f"class RunThing{i}:\n    def Go(self):\n        return RunThing{(i + 1) % 20}()\n"
             for i in range(20)}
    with live_over(tmp_path, files) as live:
        store, root = live.index.store, live.root
        before = search_tables(store, wait=True)
        graph_before = graph_tables(store, wait=True)
        assert before.importers and before.rank
        (root / "pkg/m03.py").write_text(files["pkg/m03.py"] + "\n\ndef Extra():\n    pass\n")
        apply_resolved(live.index, ["pkg/m03.py"], set(), live.index_options)
        after = search_tables(store, wait=True)
        assert after is not before
        assert _content(after) == _content(
            lookup.build_search_tables(store, (store.generation, None), None))
        kept = [fid for fid in after.files if fid in before.files]
        assert len(kept) == 19 and all(after.files[f] is before.files[f] for f in kept)
        old_names = {n: n for n in before.names}
        assert all(old_names[n] is n for n in after.names if n in old_names)
        assert "extra" in after.names and len(old_names) == len(after.names) - 1
        graph_after = graph_tables(store, wait=True)
        for table, old in ((after.rank, before.rank), (after.importers, before.importers),
                           (graph_after.rank, graph_before.rank),
                           (graph_after.file_ids, graph_before.file_ids)):
            same = [p for p in table if p in old and table[p] == old[p]]
            assert same and all(table[p] is old[p] for p in same)
            assert all(p is after.files[after.file_ids[p]][0] for p in same)  # interned
