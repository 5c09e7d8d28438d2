"""The fast paths behind expand_dependencies and summarize_dir answer what the SQL paths do."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from indexer.build.pipeline import index_repository
from indexer.disk.repo import IndexPaths, RepoIndex
from indexer.graph import refs as refgraph
from indexer.graph import refs_sql
from indexer.graph import tables as graph_tables
from indexer.graph.refcols import RefColumns, read_refs
from indexer.graph.refs import Candidates, Definition, definition, resolve_use
from indexer.live import LiveIndex
from indexer.store import Store
from tests.traced import traced_bytes
from tools import summary


@pytest.fixture(scope="module", params=["gin", "flask"])
def ctx(
    request: pytest.FixtureRequest,
    corpus: Callable[[str], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveIndex]:
    idx = RepoIndex(IndexPaths.for_repo(corpus(request.param), tmp_path_factory.mktemp("idx")))
    index_repository(idx)
    try:
        yield LiveIndex(idx)
    finally:
        idx.close()


class _Lookup:
    """`indexer.graph.qualify.Lookup` over a list of definitions and one file's edges."""

    def __init__(self, defs: list[Definition], edges: list[tuple[str, str, str]]) -> None:
        self.defs, self._edges = defs, edges
        self.memo: dict[str, frozenset[str]] = {}
        self.tiers: dict[tuple[str, str, str, str], frozenset[int]] = {}

    def types(self, name: str) -> list[Definition]:
        return [d for d in self.defs if d.name == name and d.kind == "class"]

    def named(self, name: str) -> list[Definition]:
        return [d for d in self.defs if d.name == name]

    def lineages(self) -> dict[str, frozenset[str]]:
        return self.memo

    def best_tiers(self) -> dict[tuple[str, str, str, str], frozenset[int]]:
        return self.tiers

    def edges(self, path: str) -> list[tuple[str, str, str]]:
        return self._edges


def test_indexed_candidates_resolve_like_resolve_use() -> None:
    rng = random.Random(1)
    dirs = ["", "a", "a/b", "c"]

    def path() -> str:
        d = rng.choice(dirs)
        return (d + "/" if d else "") + f"f{rng.randint(0, 2)}{rng.choice(['.go', '_test.go', '.py'])}"

    qualifiers = [None, None, "", "?.", "self.", "super().", "T.", "a.", "T::", "std::io::",
                  "Self::", "crate::", "a::T::"]
    for _ in range(5000):
        defs = [
            Definition(
                path(), f"q{i}", rng.choice(["Close", "close", "T", "U"]),
                rng.choice(["method", "method", "function", "class"]),
                rng.choice([None, "", "T", "x.T", "U"]), "", "", 1, 2,
                tuple(rng.sample(["T", "U", "x.T"], rng.randint(0, 2))),
            )
            for i in range(rng.randint(0, 12))
        ]
        use = path()
        imports = {
            rng.choice([d + "/", (d + "/" if d else "") + f"f{rng.randint(0, 2)}.go"])
            for d in rng.choices(dirs, k=rng.randint(0, 3))
        }
        edges = [(rng.choice(["a", "a/f1.py", "io"]), rng.choice(["dir", "file", "external"]),
                  rng.choice(["a", "std::io", "x/a"])) for _ in range(rng.randint(0, 2))]
        scope = rng.choice([None, "T", "T.m", "U.x", "x.T"])
        context = frozenset(rng.sample(["T", "U", "V"], rng.randint(0, 2)))
        qualifier = rng.choice(qualifiers)
        look = _Lookup(defs, edges)
        assert Candidates(defs).resolve(use, scope, imports, context, qualifier, look) == (
            resolve_use(defs, use, scope, imports, context, qualifier, look))


def _edges(edges: list[refgraph.RefEdge]) -> set[tuple[object, ...]]:
    def key(x: Definition | str) -> str:
        return x if isinstance(x, str) else f"{x.path}:{x.qualname}"

    return {(key(e.source), key(e.target), e.kind, e.path, e.line, e.confidence) for e in edges}


def test_in_memory_callers_and_callees_match_the_sql_ones(ctx: LiveIndex) -> None:
    store = ctx.index.store
    rows = store.query(
        f"SELECT {refgraph.DEF_COLS} FROM symbols s JOIN files f USING (file_id) "
        "WHERE s.kind IN ('function', 'method', 'class', 'struct') ORDER BY f.path, s.start_line"
    )
    syms = [definition(r) for r in rows]
    sample = random.Random(3).sample(syms, min(60, len(syms)))
    tables = graph_tables.graph_tables(store)
    for sym in sample:
        assert _edges(graph_tables.callees(tables, sym)) == _edges(refs_sql.callees(store, sym))
        assert _edges(graph_tables.callers(tables, sym)) == _edges(refs_sql.callers(store, sym))


def test_uses_of_a_name_from_the_tables_are_the_stores_in_its_order(
        ctx: LiveIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """`get_symbol`'s references come from the graph tables a server holds as from the store
    (which a process without them reads): every name's first uses by path, line and start
    byte, each reaching the same definitions; no query of the references runs once the
    tables are loaded."""
    from indexer.graph.uses import NameUses, name_uses
    from indexer.store import Store
    from tools import symbols

    def reached(found: NameUses) -> list[tuple[object, ...]]:
        def keys(indexes: frozenset[int] | None) -> object:
            return None if indexes is None else sorted(
                (found.defs[i].path, found.defs[i].qualname, found.defs[i].start_line)
                for i in indexes)
        return [(keys(r), keys(p)) for r, p in zip(found.resolved, found.possible, strict=True)]

    store = ctx.index.store
    tables = graph_tables.graph_tables(store)
    assert graph_tables.loaded_graph_tables(store) is tables
    names = tables.refs.names
    checked = 0
    for name in names[:: max(1, len(names) // 300)]:
        got, want = name_uses(store, tables, name), name_uses(store, None, name)
        assert got.uses == want.uses, name
        assert reached(got) == reached(want), name
        checked += len(got.uses)
    assert checked > 300
    seen: list[str] = []
    query = Store.query

    def recording(self: Store, sql: str, params: object = None) -> list[tuple[object, ...]]:
        seen.append(sql)
        return query(self, sql, params)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "query", recording)
    used = max((n for n in names if tables.defs.get(n)),
               key=lambda n: len(tables.refs.named(n, 50)))
    row = symbols._candidates(ctx, used)[0][0]
    symbols._REF_CACHE.clear()  # answered from the tables, not from an earlier call's cache
    symbols._USES_CACHE.clear()
    refs, total, _capped = symbols._references(ctx, row, 50)
    assert refs and total >= len(refs)
    assert not [sql for sql in seen if "refs" in sql], seen


def test_the_tables_hold_definitions_without_texts_and_shown_ones_read_them(
        ctx: LiveIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """The graph tables hold every definition without its signature and docstring (the
    search tables hold those as one buffer: moby's 4.8 MB of strings); what shows one
    reads them there (`with_texts`), or from the store for a definition those tables do
    not hold, and gets the store's texts either way, equal as a definition."""
    store = ctx.index.store
    tables = graph_tables.graph_tables(store)
    held = [d for ds in tables.by_qualname.values() for d in ds]
    assert held and all(d.signature == "" and d.doc == "" for d in held)
    read: dict[tuple[str, str, int, int], list[tuple[str, str]]] = {}
    for d in map(definition, store.query(
            f"SELECT {refgraph.DEF_COLS} FROM symbols s JOIN files f USING (file_id)")):
        read.setdefault((d.path, d.qualname, d.start_line, d.end_line), []).append(
            (d.signature, d.doc))
    sample = random.Random(5).sample(held, min(300, len(held)))
    expected = [read[(d.path, d.qualname, d.start_line, d.end_line)][0] for d in sample]
    assert any(doc for _, doc in expected) and any(sig for sig, _ in expected)
    shown = graph_tables.with_texts(store, sample)
    assert shown == sample
    assert [(d.signature, d.doc) for d in shown] == expected
    from indexer.store.lookup import SearchTables

    monkeypatch.setattr(SearchTables, "texts", lambda *_: None)  # tables of another generation
    shown = graph_tables.with_texts(store, sample)
    assert [(d.signature, d.doc) for d in shown] == expected


def test_directory_relations_match_a_query_per_directory(ctx: LiveIndex) -> None:
    store = ctx.index.store
    every = summary._all_relations(ctx)
    dirs = {""} | {
        d for (p,) in store.query("SELECT path FROM files") for d in summary._dirs_above(p)
    }
    for d in sorted(dirs):
        prefix = d + "/" if d else ""
        rows = store.query(
            "SELECT src_path, dst_path, dst_kind, starts_with(src_path, ?) FROM file_edges "
            "WHERE starts_with(src_path, ?) <> (dst_kind <> 'external' AND "
            "(starts_with(dst_path, ?) OR dst_path = ?))",  # a Go import names the directory
            [prefix, prefix, prefix, d],
        )
        want: tuple[Counter[str], Counter[str], Counter[str]] = (Counter(), Counter(), Counter())
        for src, dst, kind, inside in rows:
            if inside and kind == "external":
                want[2][summary._module_root(dst)] += 1
            elif inside:
                want[0][summary._group(dst, d)] += 1
            elif kind != "external":
                want[1][summary._group(src, d)] += 1
        assert every.get(d, (Counter(), Counter(), Counter())) == want, d


def test_tables_follow_the_store_generation(ctx: LiveIndex) -> None:
    store = ctx.index.store
    first = graph_tables.graph_tables(store)
    assert graph_tables.graph_tables(store) is first
    assert first.key == (store.generation, store.get_meta("graph_generation"))


def _many_references(root: Path, files: int = 40, calls: int = 1500) -> int:
    """`files` Python files, each calling `calls` times into a pool of 600 shared helpers
    (defined once): a repository whose graph is mostly references. Returns the call count."""
    root.mkdir()
    (root / "helpers.py").write_text("".join(f"def helper_{i}():\n    pass\n" for i in range(600)))
    for f in range(files):
        body = "".join(f"    helper_{(f * 7 + i) % 600}()\n" for i in range(calls))
        (root / f"user_{f}.py").write_text(f"from helpers import *\n\ndef run_{f}():\n{body}")
    return files * calls


def test_graph_tables_hold_each_reference_in_a_few_dozen_bytes(tmp_path: Path) -> None:
    """A serving process holds the graph of the repository it serves (moby: 149k references);
    as Python tuples indexed four ways they took ~190 bytes each here and came back after every
    index update as holes in the heap. Measured in a process of its own (`tests.traced`)."""
    refs = _many_references(tmp_path / "repo")
    index = RepoIndex(IndexPaths.for_repo(tmp_path / "repo", tmp_path / "idx"))
    try:
        index_repository(index)
        assert index.store.query("SELECT count(*) FROM refs")[0][0] >= refs
        tables = graph_tables._load_tables(index.store, (0, None))
        helper = refgraph.definitions_named(index.store, ["helper_3"])["helper_3"][0]
        callers = graph_tables.callers(tables, helper)  # the tables still answer
        assert _edges(callers) == _edges(refs_sql.callers(index.store, helper)) and callers
    finally:
        index.close()
    held = traced_bytes(tmp_path / "repo", tmp_path / "idx", "indexer.graph.tables:_load_tables")
    assert 8 < held / refs < 48, f"{held / refs:.0f} bytes per reference"


def test_references_of_a_file_row_gone_missing_shift_no_other_names(tmp_path: Path) -> None:
    from tests.mcp_helpers import live_over

    # a.py's names sort before b.py's: ids numbered with them would point past b's names
    files = {"a.py": "import aaa_only_here\n\ndef a():\n    return aaa_only_here.aab()\n",
             "b.py": "def b():\n    return zzz_helper_call(1)\n"}
    with live_over(tmp_path, files) as live:
        store = live.index.store
        expected = sorted({r[4] for r in load_refs(store).by_path("b.py")})
        with store.transaction() as con:  # a reference left without its file row
            con.execute("DELETE FROM files WHERE path = 'a.py'")
        assert sorted({r[4] for r in load_refs(store).by_path("b.py")}) == expected
        assert "zzz_helper_call" in expected


def test_a_walks_file_priors_are_the_stored_ranks_over_the_highest_among_its_files(
        ctx: LiveIndex) -> None:
    """The neighbourhood's file priors come from the graph tables, not a query per walk;
    they are what `file_rank` says, over the highest rank among the walk's files."""
    from indexer.graph.neighbourhood import _file_priors

    store = ctx.index.store
    ranked = [p for p, _ in store.query("SELECT path, rank FROM file_rank ORDER BY path")]
    paths = ranked[::7] + ["no/such/file.py"]
    rows = store.query("SELECT path, rank FROM file_rank WHERE path IN (SELECT unnest(?))",
                       [paths])
    top = max(r for _, r in rows) or 1.0
    priors = _file_priors(graph_tables.graph_tables(store), paths)
    assert priors == pytest.approx({p: r / top for p, r in rows}) and len(priors) == len(rows)
    assert _file_priors(graph_tables.graph_tables(store), []) == {}


# The reference rows as ids by dense_rank() windows: what `refcols._ROWS` answered before it
# numbered each column's distinct values once (3x less CPU on moby); the same ids.
_RANKED_ROWS = """
SELECT (dense_rank() OVER (ORDER BY f.path) - 1)::INTEGER AS p, r.line::INTEGER AS line,
       (dense_rank() OVER (ORDER BY r.kind) - 1)::INTEGER AS k,
       (CASE WHEN r.scope IS NULL THEN -1
             ELSE dense_rank() OVER (ORDER BY r.scope NULLS LAST) - 1 END)::INTEGER AS s,
       (dense_rank() OVER (ORDER BY r.name) - 1)::INTEGER AS n,
       (CASE WHEN r.qualifier IS NULL THEN -1
             ELSE dense_rank() OVER (ORDER BY r.qualifier NULLS LAST) - 1 END)::INTEGER AS q
FROM refs r JOIN files f USING (file_id)
ORDER BY p, r.line, r.start_byte
"""


def test_reference_columns_number_each_value_as_its_rank(ctx: LiveIndex) -> None:
    """On a real corpus, and with rows whose kind or name is missing (sorted last)."""
    import numpy as np

    from indexer.graph.refcols import _columns

    store = ctx.index.store

    def same() -> None:
        with store.snapshot() as cur:
            got = _columns(cur)
            want = cur.execute(_RANKED_ROWS).fetchnumpy()
        assert set(got) == set(want)
        for k in want:
            assert np.array_equal(got[k], np.asarray(want[k], dtype=np.int32)), k

    same()
    with store.transaction() as con:
        fid = con.execute("SELECT min(file_id) FROM files").fetchone()[0]  # type: ignore[index]
        con.execute("INSERT INTO refs VALUES (?, NULL, 'call', 1, 0, NULL, NULL), "
                    "(?, 'zz_name', NULL, 2, 5, 'Scope', 'x.'), "
                    "(?, NULL, NULL, 3, 9, NULL, NULL)",
                    [fid, fid, fid])
    try:
        same()
    finally:
        with store.transaction() as con:
            con.execute("DELETE FROM refs WHERE name IS NULL OR kind IS NULL")


def test_tables_updated_after_edits_equal_tables_read_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reload keeps the last generation's definitions and references of the files an
    update left alone and reads the others (`build_tables`, `update_refs`): the same tables
    as a read of everything, through edits, a new file, a deleted one, names and scopes
    that come and go, and a name defined in more files than a name keeps."""
    from indexer.build import apply_resolved
    from indexer.graph.tables import build_tables
    from tests.mcp_helpers import live_over

    many = refgraph.MAX_CANDIDATES + 5
    files = {f"pkg/m{i:02d}.py": f"def run():\n    return {i}\n\n\nclass C{i}:\n"
             f"    def run(self):\n        return run()\n" for i in range(many)}
    files["pkg/util.py"] = "def helper():\n    return 1\n"
    files["pkg/gone.py"] = "class Gone:\n    def only_here(self):\n        return zz_callee(1)\n"
    with live_over(tmp_path, files) as live:
        store, root = live.index.store, live.root
        before = graph_tables.graph_tables(store)
        assert "zz_callee" in before.refs.names
        whole_reads: list[object] = []

        def counted(cur: object) -> RefColumns:
            whole_reads.append(cur)
            return read_refs(cur)  # type: ignore[arg-type]

        monkeypatch.setattr(graph_tables, "read_refs", counted)

        def whole() -> graph_tables.GraphTables:
            return build_tables(store, (store.generation, None), None)

        def same(a: graph_tables.GraphTables, b: graph_tables.GraphTables) -> None:
            assert a.names == b.names and a.top_names == b.top_names
            assert a.by_qualname == b.by_qualname and a.dir_files == b.dir_files
            assert a.defs == b.defs and a.file_ids == b.file_ids
            _same_refs(a.refs, b.refs)

        (root / "pkg/m03.py").write_text("def run():\n    return 'changed'\n\n\ndef extra():\n"
                                         "    aaa_first(run())\n")
        (root / "pkg/new.py").write_text("def run():\n    return 'new'\n\n\nclass New:\n"
                                         "    def go(self):\n        return zzz_last(run)\n")
        (root / "pkg/m00.py").unlink()
        (root / "pkg/gone.py").unlink()
        apply_resolved(live.index, ["pkg/m03.py", "pkg/new.py", "pkg/m00.py", "pkg/gone.py"],
                       set(), live.index_options)
        after = graph_tables.graph_tables(store)
        assert after is not before and after.file_ids != before.file_ids
        assert not whole_reads  # the references updated, not read whole
        same(after, whole())
        assert "zz_callee" not in after.refs.names and "pkg/gone.py" not in after.refs.paths
        assert {"aaa_first", "zzz_last"} <= set(after.refs.names)
        assert after.refs.scope_names("pkg/new.py", "New.go") == {"zzz_last"}
        assert "pkg/m00.py" not in after.names and "extra" in after.names["pkg/m03.py"]
        runs = after.defs["run"]
        assert len(runs) == refgraph.MAX_CANDIDATES
        assert [(d.path, d.qualname) for d in runs[:3]] == [
            ("pkg/m01.py", "run"), ("pkg/m01.py", "C1.run"), ("pkg/m02.py", "run")]
        unchanged = after.by_qualname[("pkg/util.py", "helper")]
        assert unchanged is before.by_qualname[("pkg/util.py", "helper")]  # kept, not read
        (root / "pkg/util.py").write_text("def helper():\n    return 2\n")
        apply_resolved(live.index, ["pkg/util.py"], set(), live.index_options)
        same(graph_tables.graph_tables(store), whole())


def test_references_updated_through_random_batches_equal_a_whole_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of random edits (files written with other calls, qualifiers and scopes,
    added, removed, emptied of references): after each, the updated reference columns are a
    whole read's."""
    from indexer.build import apply_resolved
    from tests.mcp_helpers import live_over

    rng = random.Random(11)
    words = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota"]

    def source() -> str:
        funcs = rng.sample(words, rng.randint(0, 3))
        def qualifier() -> str:
            return rng.choice(["", "", "self.", f"{rng.choice(words)}.", "make()."])

        return "".join(f"def {f}_{rng.randint(0, 3)}():\n    return {qualifier()}"
                       f"{rng.choice(words)}({qualifier()}{rng.choice(words)}_"
                       f"{rng.randint(0, 5)}())\n\n\n" for f in funcs)

    files = {f"p{i % 3}/m{i}.py": source() for i in range(40)}
    with live_over(tmp_path, files) as live:
        store, root = live.index.store, live.root
        graph_tables.graph_tables(store)
        whole_reads: list[object] = []

        def counted(cur: object) -> RefColumns:
            whole_reads.append(cur)
            return read_refs(cur)  # type: ignore[arg-type]

        monkeypatch.setattr(graph_tables, "read_refs", counted)
        names = sorted(files)
        for _ in range(10):
            touched = rng.sample(names, rng.randint(1, 3))  # within UPDATE_AT_MOST
            for rel in touched:
                if rng.random() < 0.25 and (root / rel).exists():
                    (root / rel).unlink()
                else:
                    (root / rel).write_text(source())
            apply_resolved(live.index, touched, set(), live.index_options)
            updated = graph_tables.graph_tables(store)
            assert not whole_reads, "read whole"
            _same_refs(updated.refs, load_refs(store))


def load_refs(store: Store) -> RefColumns:
    """Every reference row of `store` as columns, read whole in one snapshot."""
    with store.snapshot() as cur:
        return read_refs(cur)


def _same_refs(a: RefColumns, b: RefColumns) -> None:
    """Reference columns equal column for column (an update's and a whole read's)."""
    import numpy as np

    assert (a.paths, a.kinds, a.scopes, a.names, a.quals) == (
        b.paths, b.kinds, b.scopes, b.names, b.quals)
    assert (a.path_id, a.name_id, a.scope_id, a.dir_paths, a.qual_id) == (
        b.path_id, b.name_id, b.scope_id, b.dir_paths, b.qual_id)
    for col in ("line", "kind", "scope", "name", "path_start", "by_name", "name_start",
                "pair_name", "pair_start", "qual"):
        x, y = getattr(a, col), getattr(b, col)
        assert x.dtype == y.dtype and np.array_equal(x, y), col


def test_reference_positions_are_the_same_ints_for_every_generation(tmp_path: Path) -> None:
    """The references' position maps (`RefColumns.name_id`, `path_id`, `scope_id`) are read
    again for every generation; their ints are made once for the process, not ~26k new ones
    (moby) among each batch's garbage. (Ints up to 256 are shared by Python anyway: 300
    names here.)"""
    from indexer.graph.refcols import positions

    first = positions([f"name{i}" for i in range(1000)])
    second = positions([f"other{i}" for i in range(1500)])
    assert first == {f"name{i}": i for i in range(1000)} and len(second) == 1500
    assert all(first[f"name{i}"] is second[f"other{i}"] for i in range(1000))
    root = tmp_path / "repo"
    root.mkdir()
    (root / "calls.py").write_text("".join(f"def f{i}():\n    return g{i}()\n\n\n"
                                           for i in range(300)))
    index = RepoIndex(IndexPaths.for_repo(root, tmp_path / "idx"))
    try:
        index_repository(index)
        once, again = load_refs(index.store), load_refs(index.store)
    finally:
        index.close()
    assert once.name_id == again.name_id and len(once.name_id) >= 300
    assert all(again.name_id[n] is i for n, i in once.name_id.items())


def test_an_edit_that_keeps_a_files_imports_writes_no_edges_and_no_rank(tmp_path: Path) -> None:
    """An edit leaves a file's imports as they were most of the time: the graph's edges and
    rank are not written again (the PageRank over every file was 19-25 ms of a moby batch),
    and the graph and search tables keep the last generation's edges, ranks and importers
    (`edges_generation`). An edit that changes an import writes both, and every table
    then holds what a build from nothing holds."""
    from indexer.build import apply_resolved
    from indexer.graph.tables import build_tables
    from indexer.store import EDGES_GENERATION, lookup
    from tests.mcp_helpers import live_over

    files = {f"pkg/m{i:02d}.py": f"from pkg.m{(i + 1) % 6:02d} import f{(i + 1) % 6}\n\n\n"
             f"def f{i}():\n    return f{(i + 1) % 6}()\n" for i in range(6)}
    files["pkg/lone.py"] = "def lone():\n    return 0\n"
    with live_over(tmp_path, files) as live:
        store, root = live.index.store, live.root

        def edges() -> list[tuple[object, ...]]:
            return sorted(store.query("SELECT * FROM file_edges"), key=repr)

        def ranks() -> dict[str, float]:
            return dict(store.query("SELECT path, rank FROM file_rank"))

        def tables_now() -> tuple[graph_tables.GraphTables, lookup.SearchTables]:
            return graph_tables.graph_tables(store, wait=True), lookup.search_tables(
                store, wait=True)

        graph, search = tables_now()
        mark, old_edges, old_ranks = store.get_meta(EDGES_GENERATION), edges(), ranks()
        assert mark is not None and old_edges and len(set(old_ranks.values())) > 1
        (root / "pkg/m02.py").write_text(files["pkg/m02.py"] + "\n# a comment\n")
        apply_resolved(live.index, ["pkg/m02.py"], set(), live.index_options)
        assert store.get_meta(EDGES_GENERATION) == mark
        assert store.get_meta("graph_generation") == str(store.generation)
        assert edges() == old_edges and ranks() == old_ranks
        graph2, search2 = tables_now()
        assert graph2 is not graph and graph2.out_edges is graph.out_edges
        assert graph2.in_file is graph.in_file and graph2.rank is graph.rank
        assert search2 is not search and search2.rank is search.rank
        assert search2.importers is search.importers
        (root / "pkg/lone.py").write_text("from pkg.m00 import f0\n\n\ndef lone():\n"
                                          "    return f0()\n")
        apply_resolved(live.index, ["pkg/lone.py"], set(), live.index_options)
        assert store.get_meta(EDGES_GENERATION) == str(store.generation) != mark
        assert ("pkg/lone.py", "pkg/m00.py") in {(e[0], e[1]) for e in edges()}
        assert ranks()["pkg/m00.py"] > old_ranks["pkg/m00.py"]
        graph3, search3 = tables_now()
        whole = build_tables(store, (store.generation, None), None)
        assert graph3.out_edges == whole.out_edges and graph3.in_file == whole.in_file
        assert graph3.rank == whole.rank and "pkg/lone.py" in graph3.out_edges
        read = lookup.build_search_tables(store, (store.generation, None), None)
        assert search3.rank == read.rank and search3.importers == read.importers
        assert "pkg/lone.py" in search3.importers["pkg/m00.py"]


def test_an_update_keeps_the_resolvers_of_names_whose_definitions_stayed(
        tmp_path: Path) -> None:
    """A name's resolver (`refgraph.Candidates`, built on first use) depends on its
    definitions only: an update keeps those of names no changed file defines (expand's
    first call after each batch of edits built ~300 again on moby) and builds the others
    anew; every resolver still holds what a read from nothing holds."""
    from indexer.build import apply_resolved
    from indexer.graph.tables import build_tables
    from tests.mcp_helpers import live_over

    files = {"pkg/a.py": "def alpha():\n    return 1\n",
             "pkg/b.py": "from pkg.a import alpha\n\n\ndef beta():\n    return alpha()\n",
             "pkg/c.py": "def gamma():\n    return 2\n"}
    files |= {f"pkg/f{i:02d}.py": f"def f{i}():\n    return {i}\n" for i in range(12)}
    with live_over(tmp_path, files) as live:  # one changed file of 15: an update
        store, root = live.index.store, live.root
        first = graph_tables.graph_tables(store, wait=True)
        alpha, gamma = first.resolver("alpha"), first.resolver("gamma")
        (root / "pkg/c.py").write_text("def gamma():\n    return 3\n\n\ndef delta():\n"
                                       "    return 4\n")
        apply_resolved(live.index, ["pkg/c.py"], set(), live.index_options)
        second = graph_tables.graph_tables(store, wait=True)
        assert second is not first and second.resolver("alpha") is alpha
        assert second.resolver("gamma") is not gamma  # its file was written again
        whole = build_tables(store, second.key, None)
        for name in ("alpha", "beta", "gamma", "delta", "missing"):
            assert second.resolver(name).defs == whole.resolver(name).defs
