"""The graph as in-memory tables, per store and graph generation, and the symbol- and
file-level queries that `indexer.graph.neighbourhood` walks over.

Why: per-node SQL lookups cost 5-10 ms each on moby and a depth-2 walk makes ~100 of them;
everything a walk reads (file edges both ways, the names each file uses and defines, refs by
name and by file, definitions by name) is read once per generation (on the first walk after
an index change, or by the live index after its write) and then costs dictionary lookups and
slices of the reference columns (`indexer.graph.refcols`; with the references as tuples
indexed four ways, loading these tables added 104 MB to the RSS on moby, as columns 12-23 MB:
docs/benchmarks.md "Serving memory"). `callers`
and `callees` answer exactly what `indexer.graph.refs_sql`'s SQL versions answer (the tests
compare them); ties the SQL left unordered are broken by path.
"""

from __future__ import annotations

import posixpath
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from indexer.graph import refs as refgraph
from indexer.graph.qualify import TYPE_KINDS
from indexer.graph.refcols import RefColumns, read_refs, update_refs
from indexer.graph.refs import Definition
from indexer.store import EDGES_GENERATION, GenerationCache, Store, keep_equal, same_rows


@dataclass(slots=True)
class GraphTables:
    """What the file-level neighbour queries read, held in memory per store and graph
    generation: per-node SQL lookups cost 5-10 ms each on moby (a depth-2 walk makes
    ~100 of them), dictionary lookups microseconds."""

    key: tuple[int, str | None]  # store generation, graph generation
    out_edges: dict[str, list[tuple[str, str, str, int]]]  # src -> (dst, kind, module, line)
    in_file: dict[str, list[tuple[str, str, int]]]  # dst file -> (src, module, line)
    in_dir: dict[str, list[tuple[str, str, int]]]  # dst package dir -> (src, module, line)
    refs: RefColumns  # the references, as columns: by path, by name, names used
    names: dict[str, set[str]]  # path -> names it defines
    top_names: dict[str, set[str]]  # path -> names it defines at top level
    dir_files: dict[str, list[str]]  # dir -> its files defining something
    rank: dict[str, float]
    defs: dict[str, list[Definition]]  # name -> definitions (at most MAX_CANDIDATES)
    by_qualname: dict[tuple[str, str], list[Definition]]  # (path, qualname) -> definitions
    candidates: dict[str, refgraph.Candidates] = field(default_factory=dict)
    file_ids: dict[str, int] = field(default_factory=dict)  # path -> file id, every file
    # expand()'s per-node neighbour cache: (node key, direction) -> [(Node, Edge)]
    neighbours: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    edges_mark: str | None = None  # meta `edges_generation` when the edges and rank were read
    lineage_memo: dict[str, frozenset[str]] = field(default_factory=dict)
    tier_memo: dict[tuple[str, str, str, str], frozenset[int]] = field(default_factory=dict)

    def resolver(self, name: str) -> refgraph.Candidates:
        c = self.candidates.get(name)
        if c is None:
            c = self.candidates[name] = refgraph.Candidates(self.defs.get(name, []))
        return c

    def types(self, name: str) -> list[Definition]:
        """The types named `name` (`indexer.graph.qualify.Lookup`)."""
        return [d for d in self.defs.get(name, ()) if d.kind in TYPE_KINDS]

    def named(self, name: str) -> list[Definition]:
        """The definitions named `name` (`indexer.graph.qualify.Lookup`)."""
        return self.defs.get(name, [])

    def lineages(self) -> dict[str, frozenset[str]]:
        """`indexer.graph.qualify.lineage`'s memo for this generation's definitions."""
        return self.lineage_memo

    def best_tiers(self) -> dict[tuple[str, str, str, str], frozenset[int]]:
        """`indexer.graph.refs.best_tier`'s memo for this generation."""
        return self.tier_memo

    def edges(self, path: str) -> list[tuple[str, str, str]]:
        """The import edges of `path`: (destination, kind, module) (`qualify.Lookup`)."""
        return [(dst, kind, module) for dst, kind, module, _l in self.out_edges.get(path, ())]

    def imports(self, path: str) -> set[str]:
        return {
            dst if kind == "file" else dst + "/"
            for dst, kind, _m, _l in self.out_edges.get(path, ())
            if kind != "external"
        }


def graph_tables(store: Store, *, wait: bool = False) -> GraphTables:
    """The tables for `store`'s current generation (loaded on first use after a change;
    `wait`: see `GenerationCache.get`)."""
    return _TABLES.get(store, wait=wait)


def loaded_graph_tables(store: Store) -> GraphTables | None:
    """`graph_tables(store)` where this process has loaded the tables of some generation of
    `store` (a server: its live index loads them after every batch), else None (a command
    line call, which one query serves better than a load of every reference)."""
    return None if _TABLES.last(store) is None else _TABLES.get(store)


_Edges = tuple[dict[str, list[tuple[str, str, str, int]]], dict[str, list[tuple[str, str, int]]],
               dict[str, list[tuple[str, str, int]]]]


_Definitions = tuple[dict[str, set[str]], dict[str, set[str]], dict[str, list[Definition]],
                     dict[tuple[str, str], list[Definition]]]  # names, top, defs, by_qualname

# files changed since the last generation's tables beyond which the definitions are read
# whole rather than updated (a branch switch); a batch of edits changes a few
UPDATE_AT_MOST = 0.1


def _load_tables(store: Store, key: tuple[int, str | None]) -> GraphTables:
    return build_tables(store, key, _TABLES.last(store))


def build_tables(store: Store, key: tuple[int, str | None],
                 last: GraphTables | None) -> GraphTables:
    """The tables of `store`'s generation. The definitions of the files unchanged since
    `last` (a file written again has a new file id) are `last`'s, the others read: reading
    all of moby's 26k on every batch of edits was 40% of the graph tables' reload; so are
    their references (`update_refs`), read with the file ids in one snapshot. What is
    read again is the last generation's object (`same_rows`): the unchanged edges and
    definitions are not copied beside themselves. The edges and the rank are `last`'s
    whole while no write of them came between (meta `edges_generation`, `indexer.graph.build`:
    an edit that leaves a file's imports as they were writes neither)."""
    mark = store.get_meta(EDGES_GENERATION)
    if last is not None and mark is not None and last.edges_mark == mark:
        out_edges, in_file, in_dir, rank = last.out_edges, last.in_file, last.in_dir, last.rank
    else:
        read_out, read_in_file, read_in_dir = _load_edges(store, last)
        out_edges, in_file, in_dir = dict(read_out), dict(read_in_file), dict(read_in_dir)
        rank = _load_rank(store, last)
    with store.snapshot() as cur:  # the references of the files these ids name
        file_ids: dict[str, int] = {_intern(p): f for p, f in cur.execute(
            "SELECT path, file_id FROM files").fetchall()}
        changed = _changed(last, file_ids)
        refs = (read_refs(cur) if last is None or changed is None
                else update_refs(cur, last.refs, changed, file_ids))
    if last is not None and changed is not None:
        names, top_names, defs, by_qualname = _definitions_updated(store, last, changed, file_ids)
    else:
        names, top_names, defs, by_qualname = _definitions_read(store, last)
    dir_files: dict[str, list[str]] = defaultdict(list)
    for path in sorted(names):
        dir_files[posixpath.dirname(path)].append(path)
    candidates: dict[str, refgraph.Candidates] = {}
    if last is not None:  # what is read again stays the last generation's (`same_rows`)
        keep_equal(file_ids, last.file_ids)
        # a name's resolver is built from its definitions alone: kept while they are the
        # same list (an update keeps the lists of the names no changed file defines);
        # `copy` is one step for other threads, which add to the last tables' resolvers
        candidates = {n: c for n, c in last.candidates.copy().items()
                      if defs.get(n) is last.defs.get(n)}
    return GraphTables(
        key, out_edges, in_file, in_dir, refs, names, top_names,
        dict(dir_files), rank, defs, by_qualname, candidates=candidates, file_ids=file_ids,
        edges_mark=mark,
    )


def _changed(last: GraphTables | None, file_ids: dict[str, int]) -> set[str] | None:
    """The paths whose file id differs from `last`'s (written again, added or gone); None
    when there is no `last` or more changed than an update is worth (`UPDATE_AT_MOST`)."""
    if last is None or not last.file_ids:
        return None
    changed = {p for p in last.file_ids.keys() | file_ids.keys()
               if last.file_ids.get(p) != file_ids.get(p)}
    return changed if len(changed) <= UPDATE_AT_MOST * max(len(file_ids), 1) else None


def _load_rank(store: Store, last: GraphTables | None) -> dict[str, float]:
    try:
        rank = {_intern(p): r for p, r in store.query("SELECT path, rank FROM file_rank")}
    except Exception:  # noqa: BLE001 - no graph yet
        return {}
    if last is not None:
        keep_equal(rank, last.rank)
    return rank


_DEFINITIONS = (f"SELECT {refgraph.TABLE_DEF_COLS} FROM symbols s JOIN files f USING (file_id) "
                "{where} ORDER BY f.path, s.start_line, s.qualname")


def _definitions_read(store: Store, last: GraphTables | None) -> _Definitions:
    names: dict[str, set[str]] = defaultdict(set)
    top_names: dict[str, set[str]] = defaultdict(set)
    defs: dict[str, list[Definition]] = defaultdict(list)
    by_qualname: dict[tuple[str, str], list[Definition]] = defaultdict(list)
    same = same_rows(() if last is None else last.by_qualname.values())
    same_key = same_rows(() if last is None else [last.by_qualname.keys()])
    for row in store.stream(_DEFINITIONS.format(where="")):
        d = refgraph.definition(row)
        d = same.get(d, d)
        names[d.path].add(d.name)
        qualified = (d.path, d.qualname)
        by_qualname[same_key.get(qualified, qualified)].append(d)
        if d.parent is None:
            top_names[d.path].add(d.name)
        if len(defs[d.name]) < refgraph.MAX_CANDIDATES:
            defs[d.name].append(d)
    return dict(names), dict(top_names), dict(defs), dict(by_qualname)


def _definitions_updated(store: Store, last: GraphTables, changed: set[str],
                         file_ids: dict[str, int]) -> _Definitions:
    """`last`'s definitions with those of the `changed` paths read again."""
    ids = [file_ids[p] for p in sorted(changed) if p in file_ids]
    rows = store.query(_DEFINITIONS.format(where="WHERE s.file_id IN (SELECT unnest(?))"),
                       [ids]) if ids else []
    gone = [d for key, ds in last.by_qualname.items() if key[0] in changed for d in ds]
    same = same_rows([gone])
    fresh = [same.get(d, d) for d in map(refgraph.definition, rows)]
    names = {p: n for p, n in last.names.items() if p not in changed}
    top_names = {p: n for p, n in last.top_names.items() if p not in changed}
    by_qualname = {k: ds for k, ds in last.by_qualname.items() if k[0] not in changed}
    for d in fresh:
        names.setdefault(d.path, set()).add(d.name)
        if d.parent is None:
            top_names.setdefault(d.path, set()).add(d.name)
        by_qualname.setdefault((d.path, d.qualname), []).append(d)
    affected = {d.name for d in gone} | {d.name for d in fresh}
    defs = {n: ds for n, ds in last.defs.items() if n not in affected}
    named: dict[str, list[Definition]] = defaultdict(list)
    for ds in by_qualname.values():
        for d in ds:
            if d.name in affected:
                named[d.name].append(d)
    for name, found in named.items():  # the read's order: path, start line, qualname
        found.sort(key=lambda d: (d.path, d.start_line, d.qualname))
        defs[name] = found[:refgraph.MAX_CANDIDATES]
    return names, top_names, defs, by_qualname


def _load_edges(store: Store, last: GraphTables | None) -> _Edges:
    out_edges: dict[str, list[tuple[str, str, str, int]]] = defaultdict(list)
    in_file: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    in_dir: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    same_out = same_rows(() if last is None else last.out_edges.values())
    same_in = same_rows(() if last is None else [
        *last.in_file.values(), *last.in_dir.values()])
    for src, dst, kind, module, line in store.query(
        "SELECT src_path, dst_path, dst_kind, module, min(line) AS l FROM file_edges "
        "GROUP BY ALL ORDER BY src_path, l, dst_path, dst_kind, module"
    ):
        src, dst, kind, module = _intern(src), _intern(dst), _intern(kind), _intern(module)
        out = (dst, kind, module, line)
        out_edges[src].append(same_out.get(out, out))
        if kind in ("file", "dir"):
            edge = (src, module, line)
            (in_file if kind == "file" else in_dir)[dst].append(same_in.get(edge, edge))
    return out_edges, in_file, in_dir


_intern = sys.intern  # one copy of each path, name and kind (with the streamed reads: -70 MB on
# moby, docs/benchmarks.md "Serving memory")


def with_texts(store: Store, defs: Sequence[Definition]) -> list[Definition]:
    """`defs` with their signatures and docstrings, which the graph tables' definitions
    are held without (`refgraph.TABLE_DEF_COLS`): from the search tables of the store's
    generation, else (a definition those do not hold: the graph tables of an older
    generation) read from the store."""
    from dataclasses import replace

    from indexer.store import search_tables

    tables = search_tables(store)
    out: list[Definition] = []
    missing: dict[tuple[str, str, int, int], tuple[str, str]] = {}
    for d in defs:
        found = tables.texts(d.path, d.qualname, d.start_line, d.end_line)
        if found is None:
            missing[(d.path, d.qualname, d.start_line, d.end_line)] = ("", "")
        else:
            d = replace(d, signature=found[0], doc=found[1])
        out.append(d)
    if not missing:
        return out
    rows = store.query(
        "SELECT f.path, s.qualname, s.start_line, s.end_line, s.signature, s.doc FROM symbols s "
        "JOIN files f USING (file_id) WHERE f.path IN (SELECT unnest(?))",
        [sorted({k[0] for k in missing})])
    for path, qualname, start, end, signature, doc in rows:
        if (path, qualname, start, end) in missing:
            missing[(path, qualname, start, end)] = (signature or "", doc or "")
    return [replace(d, signature=t[0], doc=t[1])
            if (t := missing.get((d.path, d.qualname, d.start_line, d.end_line))) else d
            for d in out]


def package_files_used(t: GraphTables, src: str, pkg_dirs: list[str]) -> dict[str, list[str]]:
    """Per Go package dir: its files defining names that `src` uses (else its top files)."""
    used = t.refs.used_names(src)
    out: dict[str, list[str]] = {}
    for d in dict.fromkeys(pkg_dirs):
        cand = []
        for f in t.dir_files.get(d, ()):
            if f.endswith("_test.go"):
                continue
            n = sum(1 for name in t.names[f] if name in used)
            r = t.rank.get(f)
            cand.append((-n, r is None, -(r or 0.0), f))
        if not cand:
            continue
        cand.sort()
        best = -cand[0][0]
        picked = cand[:2] if best == 0 else [c for c in cand if c[0] < 0][:8]
        out[d] = [c[3] for c in picked]
    return out


def callees(t: GraphTables, sym: Definition) -> list[refgraph.RefEdge]:
    """`indexer.graph.refs_sql.callees` over the in-memory tables."""
    first: dict[tuple[str, str, str | None], int] = {}
    prefix = sym.qualname + "."
    for _p, line, kind, scope, name, qual in t.refs.in_lines(
            sym.path, sym.start_line, sym.end_line):
        if scope is not None and (scope == sym.qualname or scope.startswith(prefix)):
            k = (name, kind, qual)
            if k not in first or line < first[k]:
                first[k] = line
    rows = [(*k, line) for k, line in sorted(
        first.items(), key=lambda kv: (kv[1], kv[0][0], kv[0][1], kv[0][2] is not None,
                                       kv[0][2] or ""))]
    context = frozenset(r[0] for r in rows)
    return refgraph.callee_edges(sym, rows, t.resolver, t.imports(sym.path), context, t)


def callers(t: GraphTables, sym: Definition) -> list[refgraph.RefEdge]:
    """`indexer.graph.refs_sql.callers` over the in-memory tables."""
    rows: list[tuple[str, int, str, str | None, Definition | None, str | None]] = []
    for path, line, kind, scope, _name, qual in t.refs.named(sym.name, refgraph.MAX_USES):
        scoped = t.by_qualname.get((path, scope), [None]) if scope is not None else [None]
        for d in scoped:
            rows.append((path, line, kind, scope, d, qual))
        if len(rows) >= refgraph.MAX_USES:
            break
    rows = rows[: refgraph.MAX_USES]
    defs = t.resolver(sym.name)
    out: list[refgraph.RefEdge] = []
    seen: set[tuple[str, str | None, str]] = set()
    confidence: dict[tuple[str, str | None, str | None], float] = {}
    imports: dict[str, set[str]] = {}
    for path, line, kind, scope, scope_def, qual in rows:
        conf = confidence.get((path, scope, qual))
        if conf is None:
            if path not in imports:
                imports[path] = t.imports(path)
            context = t.refs.scope_names(path, scope) if scope else frozenset()
            conf = refgraph.use_confidence(defs, sym, path, scope, imports[path], context,
                                           qual, t)
            confidence[(path, scope, qual)] = conf
        source: Definition | str = path
        if scope_def is not None:
            source = owner(t, scope_def)
        key = (path, source.qualname if isinstance(source, Definition) else None, kind)
        if conf <= 0 or key in seen or source == sym:
            continue
        seen.add(key)
        out.append(refgraph.RefEdge(source, sym, refgraph._EDGE.get(kind, "uses"), path, line, conf))
    return out


def owner(t: GraphTables, d: Definition) -> Definition:
    """A nested function's outermost enclosing function or method (`refs_sql._owners`)."""
    if d.kind != "function" or not d.parent:
        return d
    out = d
    up = parent_fn(t, d)
    seen = 0
    while up is not None and seen < 64:
        out = up
        up = parent_fn(t, up)
        seen += 1
    return out


def parent_fn(t: GraphTables, d: Definition) -> Definition | None:
    found = [
        p
        for p in t.by_qualname.get((d.path, d.parent or ""), ())
        if p.kind in ("function", "method")
    ]
    return found[-1] if found else None


def files_used(t: GraphTables, path: str) -> list[tuple[str, float, list[str]]]:
    """Other files whose definitions `path` uses at confidence >= 0.6 (same package, imports)."""
    imports = t.imports(path)
    found: dict[str, tuple[float, list[str]]] = {}
    for (name, qual), scope in t.refs.sites(path).items():
        for d, conf in t.resolver(name).resolve(path, scope, imports, frozenset(), qual, t):
            if d.path != path and conf >= 0.6:
                best, names = found.get(d.path, (0.0, []))
                found[d.path] = (max(best, conf), names if name in names else names + [name])
    ranked = sorted(found.items(), key=lambda kv: (-len(kv[1][1]), kv[0]))
    return [(p, conf, names) for p, (conf, names) in ranked]


FILES_USING = 40  # files of a directory listed as using a file's names


def files_using(t: GraphTables, path: str) -> list[tuple[str, float, list[str]]]:
    """Files in the same directory whose uses of names defined in `path` resolve there (a
    call of `super().__init__()` or of another class's `__init__` is no use of this one)."""
    found = t.refs.dir_users(posixpath.dirname(path), t.names.get(path, set()))
    found.pop(path, None)
    out: list[tuple[str, float, list[str]]] = []
    for src, names in sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        imports = t.imports(src)
        reached = sorted({name for (name, qual), scope in t.refs.sites(src, names).items()
                          if any(d.path == path for d, _c in t.resolver(name).resolve(
                              src, scope, imports, frozenset(), qual, t))})
        if reached:
            out.append((src, 0.6, reached))
    return sorted(out, key=lambda r: (-len(r[2]), r[0]))[:FILES_USING]


_TABLES: GenerationCache[GraphTables] = GenerationCache(_load_tables)
