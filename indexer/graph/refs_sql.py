"""The SQL side of the reference graph: a name's callers and a definition's callees read from
the store, query by query. The tools use the in-memory equivalents over the graph tables
(`indexer.graph.tables.callers` / `callees`); these are their reference, checked equal in
tests/test_graph_tables.py, and what `indexer.graph.uses` reads where no tables are loaded
(`StoreLookup`, `scope_names`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from indexer.core import duckdb
from indexer.graph.qualify import TYPE_KINDS
from indexer.graph.refs import (
    _EDGE,
    DEF_COLS,
    MAX_CANDIDATES,
    MAX_USES,
    Candidates,
    Definition,
    RefEdge,
    callee_edges,
    definition,
    definitions_named,
    imported_files,
    use_confidence,
)
from indexer.store import Store


class StoreLookup:
    """`indexer.graph.qualify.Lookup` over the store: a query per name or file, each kept
    for the lookup's life (one call's); `prefetch` reads many in one query each."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._named: dict[str, list[Definition]] = {}
        self._edges: dict[str, list[tuple[str, str, str]]] = {}
        self._types: dict[str, list[Definition]] | None = None
        self._lineages: dict[str, frozenset[str]] = {}
        self._tiers: dict[tuple[str, str, str, str], frozenset[int]] = {}

    def types(self, name: str) -> list[Definition]:
        if self._types is None:  # every type at once: a lineage reads some at each step
            self._types = defaultdict(list)
            for row in self.store.query(
                    f"SELECT {DEF_COLS} FROM symbols s JOIN files f USING (file_id) "
                    "WHERE s.kind IN (SELECT unnest(?)) ORDER BY f.path, s.start_line, s.qualname",
                    [sorted(TYPE_KINDS)]):
                d = definition(row)
                if len(self._types[d.name]) < MAX_CANDIDATES:
                    self._types[d.name].append(d)
        return self._types.get(name, [])

    def lineages(self) -> dict[str, frozenset[str]]:
        return self._lineages

    def best_tiers(self) -> dict[tuple[str, str, str, str], frozenset[int]]:
        return self._tiers

    def prefetch(self, names: Iterable[str], paths: Iterable[str]) -> None:
        """Read the definitions of `names` and the import edges of `paths` not read yet."""
        names = sorted(set(names) - self._named.keys())
        if names:
            found = definitions_named(self.store, names)
            self._named.update((n, found.get(n, [])) for n in names)
        paths = sorted(set(paths) - self._edges.keys())
        if paths:
            self._edges.update((p, []) for p in paths)
            for src, dst, kind, module in self.store.query(
                    "SELECT DISTINCT src_path, dst_path, dst_kind, module FROM file_edges "
                    "WHERE src_path IN (SELECT unnest(?)) ORDER BY ALL", [paths]):
                self._edges[str(src)].append((str(dst), str(kind), str(module)))

    def named(self, name: str) -> list[Definition]:
        if name not in self._named:
            self.prefetch([name], ())
        return self._named[name]

    def edges(self, path: str) -> list[tuple[str, str, str]]:
        if path not in self._edges:
            self.prefetch((), [path])
        return self._edges[path]


def callees(store: Store, sym: Definition) -> list[RefEdge]:
    """What `sym` uses: calls, base classes and type uses inside its body, resolved (a
    target once per kind of use: at its first line)."""
    with store.reading() as cur:
        rows = cur.execute(
            "SELECT r.name, r.kind, r.qualifier, min(r.line) FROM refs r "
            "JOIN files f USING (file_id) "
            "WHERE f.path = ? AND (r.scope = ? OR starts_with(r.scope, ? || '.')) "
            "AND r.line BETWEEN ? AND ? GROUP BY ALL ORDER BY 4, 1, 2, 3 NULLS FIRST",
            [sym.path, sym.qualname, sym.qualname, sym.start_line, sym.end_line],
        ).fetchall()
        imports = imported_files(cur, [sym.path])[sym.path]
    look = StoreLookup(store)
    context = frozenset(r[0] for r in rows)
    indexed = {r[0]: Candidates(look.named(r[0])) for r in rows}
    return callee_edges(sym, rows, lambda name: indexed[name], imports, context, look)


def callers(store: Store, sym: Definition) -> list[RefEdge]:
    """Uses of `sym` elsewhere, each attributed to its enclosing definition (or file).

    The tools use the in-memory equivalent (`graph_tables.callers`); this SQL version is
    its reference, checked equal in tests/test_graph_tables.py.

    A use inside a nested function (a decorator's inner `wrapper`) is attributed to the
    function that defines it: the closure is an implementation detail of its owner."""
    with store.reading() as cur:
        rows = cur.execute(
            f"SELECT f.path, r.line, r.kind, r.scope, {DEF_COLS.replace('f.path, ', '')}, "
            "r.qualifier FROM refs r JOIN files f USING (file_id) "
            "LEFT JOIN symbols s ON s.file_id = r.file_id AND s.qualname = r.scope "
            "WHERE r.name = ? ORDER BY f.path, r.line LIMIT ?",
            [sym.name, MAX_USES],
        ).fetchall()
        imports = imported_files(cur, (r[0] for r in rows))
        contexts = scope_names(cur, {(r[0], r[3]) for r in rows if r[3] is not None})
    look = StoreLookup(store)
    defs = Candidates(look.named(sym.name))
    confidence: dict[tuple[str, str | None, str | None], float] = {}
    owners = _owners(store, [definition((r[0], *r[4:])) for r in rows if r[4] is not None])
    out: list[RefEdge] = []
    seen: set[tuple[str, str | None, str]] = set()
    for row in rows:
        path, line, kind, scope, qual = row[0], row[1], row[2], row[3], row[-1]
        conf = confidence.get((path, scope, qual))
        if conf is None:
            context = contexts.get((path, scope), frozenset())
            conf = use_confidence(defs, sym, path, scope, imports[path], context, qual, look)
            confidence[(path, scope, qual)] = conf
        source: Definition | str = path
        if row[4] is not None:
            source = definition((path, *row[4:]))
            source = owners.get((path, source.qualname), source)
        key = (path, source.qualname if isinstance(source, Definition) else None, kind)
        if conf <= 0 or key in seen or source == sym:
            continue
        seen.add(key)
        out.append(RefEdge(source, sym, _EDGE.get(kind, "uses"), path, int(line), conf))
    return out


def scope_names(
    cur: duckdb.DuckDBPyConnection, scopes: set[tuple[str, str]]
) -> dict[tuple[str, str], frozenset[str]]:
    """(path, scope) -> every name used inside that scope."""
    if not scopes:
        return {}
    pairs = sorted(scopes)
    rows = cur.execute(
        "SELECT f.path, r.scope, list(DISTINCT r.name) FROM refs r JOIN files f USING (file_id) "
        "JOIN (SELECT unnest(?) AS p, unnest(?) AS q) sc ON sc.p = f.path AND sc.q = r.scope "
        "GROUP BY 1, 2",
        [[s[0] for s in pairs], [s[1] for s in pairs]],
    ).fetchall()
    return {(str(p), str(q)): frozenset(names) for p, q, names in rows}


def _owners(store: Store, scopes: list[Definition]) -> dict[tuple[str, str], Definition]:
    """(path, qualname) of a nested function -> the function or method enclosing it."""
    nested = {(d.path, d.parent) for d in scopes if d.kind == "function" and d.parent}
    if not nested:
        return {}
    pairs = sorted(nested, key=lambda n: (n[0], n[1] or ""))
    rows = store.query(
        f"SELECT {DEF_COLS} FROM symbols s JOIN files f USING (file_id) "
        "JOIN (SELECT unnest(?) AS p, unnest(?) AS q) o "
        "ON o.p = f.path AND o.q = s.qualname WHERE s.kind IN ('function', 'method')",
        [[n[0] for n in pairs], [n[1] for n in pairs]],
    )
    parents = {(str(r[0]), str(r[1])): definition(r) for r in rows}
    out: dict[tuple[str, str], Definition] = {}
    for d in scopes:
        owner = parents.get((d.path, d.parent or ""))
        while owner is not None:
            out[(d.path, d.qualname)] = owner
            owner = parents.get((owner.path, owner.parent or ""))
    return out
