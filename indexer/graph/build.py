"""The code graph: file import edges, a global file rank, and the tables that hold them.

`build_graph(index)` runs at the end of every pipeline run. It resolves the imports of the
files that changed since the last build (`indexer.graph.resolve`) and writes them to
`file_edges`; when files were added or removed, or a project manifest (go.mod, Cargo.toml,
tsconfig.json, package.json) changed, every file's imports are resolved again, because a new
file can turn an external import into an internal one. Afterwards the PageRank of every file
over the import graph is recomputed (`file_rank`, a few numpy power iterations), unless the
changed files' imports resolved to the edges they had (most edits: nothing else moves the
rank); meta `edges_generation` says which generation last wrote the edges and the rank, so
that readers keep what they read of them (`indexer.graph.tables`).

Tables (created here, not in the store schema, so the graph can evolve on its own):

    file_edges(src_path, dst_path, dst_kind, module, line)
        dst_kind: `file`, `dir` (Go package directory) or `external` (dst_path = module)
    graph_files(file_id, path)   the file rows the edges reflect (change detection)
    file_rank(path, rank, importers)

Writes do not bump the store generation: the graph is derived data, like the lexical index,
and it records the generation it reflects in meta `graph_generation`.

Reference edges (calls, type uses, inheritance) are resolved at query time by
`indexer.graph.refs`; they need no table.
"""

from __future__ import annotations

import logging
import posixpath
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np

from indexer.core import duckdb
from indexer.disk import RepoIndex
from indexer.graph.resolve import Layout, resolve
from indexer.store import EDGES_GENERATION, Store, atomic, text_column

log = logging.getLogger(__name__)

_MANIFESTS = {"go.mod", "Cargo.toml", "tsconfig.json", "jsconfig.json", "package.json"}
_FULL_SHARE = 0.25  # above this share of changed files, resolve everything again
_DAMPING = 0.85


@contextmanager
def private_cursor(store: Store) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of our own: registered column tables and transactions never meet a caller's
    half-read result on the shared per-thread cursor."""
    with store.reading() as shared:
        cur = shared.cursor()
        try:
            yield cur
        finally:
            cur.close()


def graph_ready(index: RepoIndex) -> bool:
    return index.store.get_meta("graph_generation") is not None


def build_graph(index: RepoIndex) -> dict[str, float]:
    """Bring file_edges and file_rank in line with the store. Returns timing/size metrics."""
    with private_cursor(index.store) as cur:
        return _build(index, cur)


def _build(index: RepoIndex, cur: duckdb.DuckDBPyConnection) -> dict[str, float]:
    started = time.perf_counter()
    files = cur.execute("SELECT file_id, path, language FROM files").fetchall()
    old = dict(cur.execute("SELECT path, file_id FROM graph_files").fetchall())
    current = {p: fid for fid, p, _ in files}
    changed = {p for p, fid in current.items() if old.get(p) != fid}
    structural = set(current) ^ set(old)
    full = (
        not old
        or bool(structural)
        or any(posixpath.basename(p) in _MANIFESTS for p in changed)
        or len(changed) > _FULL_SHARE * max(len(current), 1)
    )
    if not full and not changed:
        index.store.set_meta("graph_generation", str(index.store.generation))
        return {"graph_seconds": time.perf_counter() - started, "graph_resolved_files": 0}
    layout = Layout.build(index.root, ((p, lang) for _, p, lang in files))
    todo = current if full else {p: current[p] for p in changed}
    edges = _resolve_files(cur, layout, todo, {p: lang for _, p, lang in files})
    only = None if full else sorted(changed)
    if only is None or _edges_differ(cur, edges, only):
        _write_edges(cur, edges, only, files)
        _write_rank(cur, layout)
        index.store.set_meta(EDGES_GENERATION, str(index.store.generation))
    else:  # the same edges, so the same rank (moby: build_graph 39 -> 14-16 ms a batch)
        _write_snapshot(cur, files)
        if index.store.get_meta(EDGES_GENERATION) is None:  # a graph built before the mark
            index.store.set_meta(EDGES_GENERATION, str(index.store.generation))
    index.store.set_meta("graph_generation", str(index.store.generation))
    seconds = time.perf_counter() - started
    log.info(
        "graph: resolved imports of %d files (%s) in %.2fs",
        len(todo),
        "full" if full else "incremental",
        seconds,
    )
    return {"graph_seconds": seconds, "graph_resolved_files": float(len(todo))}


def _resolve_files(
    cur: duckdb.DuckDBPyConnection,
    layout: Layout,
    todo: dict[str, int],
    langs: dict[str, str | None],
) -> dict[str, list[object]]:
    cur.register("_ids", {"file_id": np.array(list(todo.values()), dtype=np.int64)})
    rows = cur.execute(
        "SELECT f.path, i.module, i.names, i.level, i.line FROM imports i JOIN files f USING (file_id) "
        "WHERE i.file_id IN (SELECT file_id FROM _ids)"
    ).fetchall()
    cur.unregister("_ids")
    cols: dict[str, list[object]] = {
        k: [] for k in ("src_path", "dst_path", "dst_kind", "module", "line")
    }
    cache: dict[tuple[object, ...], list[tuple[str, str]]] = {}
    for path, module, names, level, line in rows:
        lang = langs.get(path)
        # results depend on the importer only through its directory (and itself), so cache by it
        key = (posixpath.dirname(path), lang, module, tuple(names or ()), level)
        targets = cache.get(key)
        if targets is None or any(t[1] == path for t in targets):
            found = resolve(layout, path, lang, module or "", tuple(names or ()), level or 0)
            targets = [(t.kind, t.path) for t in found]
            cache[key] = targets
        for kind, dst in targets:
            if dst == path:
                continue
            for k, v in zip(cols, (path, dst, kind, module, line), strict=True):
                cols[k].append(v)
    return cols


def _edges_differ(cur: duckdb.DuckDBPyConnection, cols: dict[str, list[object]],
                  only: list[str]) -> bool:
    """Whether the edges resolved for the files `only` are not the ones `file_edges` has."""
    cur.register("_only", {"p": text_column(only)})
    try:
        old = cur.execute("SELECT src_path, dst_path, dst_kind, module, line FROM file_edges "
                          "WHERE src_path IN (SELECT p FROM _only)").fetchall()
    finally:
        cur.unregister("_only")
    return Counter(old) != Counter(zip(*cols.values(), strict=True))


def _write_snapshot(cur: duckdb.DuckDBPyConnection,
                    files: list[tuple[int, str, str | None]]) -> None:
    """The file rows the edges now reflect (`graph_files`)."""
    with atomic(cur):
        _replace_snapshot(cur, files)


def _replace_snapshot(cur: duckdb.DuckDBPyConnection,
                      files: list[tuple[int, str, str | None]]) -> None:
    snapshot = {
        "file_id": np.array([f[0] for f in files], dtype=np.int64),
        "path": text_column([f[1] for f in files]),
    }
    cur.execute("DELETE FROM graph_files")
    cur.register("_snap", snapshot)
    cur.execute("INSERT INTO graph_files SELECT * FROM _snap")
    cur.unregister("_snap")


def _write_edges(
    cur: duckdb.DuckDBPyConnection,
    cols: dict[str, list[object]],
    only: list[str] | None,
    files: list[tuple[int, str, str | None]],
) -> None:
    # NumPy columns, not pyarrow: importing pyarrow alone kept ~24 MB resident in `sextant
    # index` (evals/bench_index.py).
    table = {
        "src_path": text_column(cols["src_path"]),
        "dst_path": text_column(cols["dst_path"]),
        "dst_kind": text_column(cols["dst_kind"]),
        "module": text_column(cols["module"]),
        "line": np.array(cols["line"], dtype=np.int32),
    }
    with atomic(cur):
        if only is None:
            cur.execute("DELETE FROM file_edges")
        else:
            cur.register("_only", {"p": text_column(only)})
            cur.execute("DELETE FROM file_edges WHERE src_path IN (SELECT p FROM _only)")
            cur.unregister("_only")
        cur.register("_edges", table)
        cur.execute("INSERT INTO file_edges SELECT * FROM _edges")
        cur.unregister("_edges")
        _replace_snapshot(cur, files)


def file_level_edges(
    cur: duckdb.DuckDBPyConnection, layout_dirs: dict[str, list[str]] | None = None
) -> list[tuple[str, str, float]]:
    """(src, dst, weight) between files; a directory edge is split over the dir's files.
    In a fixed order: the rank's float sums then come out the same, to the last bit, in
    every build of the same files (a GROUP BY's order follows how the table was written)."""
    rows = cur.execute(
        "SELECT src_path, dst_path, dst_kind, count(*) FROM file_edges "
        "WHERE dst_kind <> 'external' GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    out: list[tuple[str, str, float]] = []
    # a directory's members of one extension, with their weight: moby's Go packages are
    # imported from many files, and filtering the members per edge cost ~0.15 s of its build
    shares: dict[tuple[str, str], tuple[list[str], float]] = {}
    for src, dst, kind, _n in rows:
        if kind == "file":
            out.append((src, dst, 1.0))
        elif layout_dirs is not None:
            key = (dst, posixpath.splitext(src)[1])
            share = shares.get(key)
            if share is None:
                members = [f for f in layout_dirs.get(dst, ()) if _same_kind(f, key[1])]
                share = shares[key] = (members, 1.0 / len(members) if members else 0.0)
            members, weight = share
            out.extend((src, m, weight) for m in members)
    return out


def _same_kind(member: str, ext: str) -> bool:
    """`member` has extension `ext` and is not a Go test file."""
    return posixpath.splitext(member)[1] == ext and not member.endswith("_test.go")


def _write_rank(cur: duckdb.DuckDBPyConnection, layout: Layout) -> None:
    edges = file_level_edges(cur, layout.dirs)
    paths = sorted(layout.files)
    ranks = pagerank(paths, edges)
    importers: dict[str, int] = {}
    for _src, dst, _w in edges:
        importers[dst] = importers.get(dst, 0) + 1
    table = {
        "path": text_column(paths),
        "rank": np.array([ranks.get(p, 0.0) for p in paths], dtype=np.float64),
        "importers": np.array([importers.get(p, 0) for p in paths], dtype=np.int32),
    }
    with atomic(cur):
        cur.execute("DELETE FROM file_rank")
        cur.register("_rank", table)
        cur.execute("INSERT INTO file_rank SELECT * FROM _rank")
        cur.unregister("_rank")


def pagerank(
    nodes: Iterable[str],
    edges: Iterable[tuple[str, str, float]],
    personal: dict[str, float] | None = None,
    iterations: int = 30,
) -> dict[str, float]:
    """(Personalized) PageRank by power iteration; dangling mass goes to the personal vector."""
    index = {n: i for i, n in enumerate(dict.fromkeys(nodes))}
    n = len(index)
    if n == 0:
        return {}
    triples = [(index[s], index[d], w) for s, d, w in edges if s in index and d in index and s != d]
    src = np.array([t[0] for t in triples], dtype=np.int64)
    dst = np.array([t[1] for t in triples], dtype=np.int64)
    weight = np.array([t[2] for t in triples], dtype=np.float64)
    out_w = np.bincount(src, weights=weight, minlength=n)
    norm = np.divide(weight, out_w[src], out=np.zeros_like(weight), where=out_w[src] > 0)
    teleport = np.full(n, 1.0 / n)
    if personal:
        teleport = np.zeros(n)
        for k, v in personal.items():
            if k in index:
                teleport[index[k]] = v
        total = teleport.sum()
        teleport = teleport / total if total > 0 else np.full(n, 1.0 / n)
    rank = teleport.copy()
    dangling = out_w == 0
    for _ in range(iterations):
        spread = np.bincount(dst, weights=rank[src] * norm, minlength=n)
        rank = (1 - _DAMPING) * teleport + _DAMPING * (spread + rank[dangling].sum() * teleport)
    return {k: float(rank[i]) for k, i in index.items()}
