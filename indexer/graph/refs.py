"""Reference edges, resolved at query time: which definition does an identifier use point to?

A use of `name` in file F (inside scope S) is resolved against every definition of `name`:

    same file, a member of the scope's own class    1.0
    same file                                       0.9
    a file F imports (or a file of an imported Go package)     0.8
    the same directory (a Go/Java package; a sibling module)   0.6
    the only definition of that name in the repository         0.5
    otherwise                                       0.4 / number of definitions

Before the levels, what the call site says before the name (its qualifier) sorts the
definitions into tiers (`indexer.graph.qualify`): `Gitignore::new` reaches `Gitignore.new`
only, a bare `url_for(...)` a function and no method, `super().__init__()` a base class's.
A use resolves among the best tier, to the definitions sharing the best level there; a
definition outside that level keeps a fraction of its own score. Everything here is a handful of SQL queries keyed by name
or file (`refs.name`, `symbols.name`, `file_edges.src_path`), so nothing is materialized.

Scoring every definition for every use was the cost on large repositories (callers of `Close`
on moby: 3000 uses x 200 definitions, ~1 s): `Candidates` indexes one name's definitions by
file and directory and looks only at the use's file, its imports and its directory (the
levels above are 0.1 apart, the owner bonus 0.05, so the best level decides); it answers
exactly what `resolve_use` answers. `indexer.graph.tables` runs callers/callees over its
in-memory tables; the SQL versions (`indexer.graph.refs_sql`) remain the reference (tests
compare the two).
"""

from __future__ import annotations

import posixpath
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from indexer.core import duckdb
from indexer.graph.qualify import Lookup, tier_key, tiers
from indexer.store import Store

MAX_USES = 3000  # uses of one name considered for callers
MAX_CANDIDATES = 200  # definitions of one name considered
MAX_MEMO = 50_000  # best tiers a lookup keeps (`qualify.Lookup.best_tiers`)
_EDGE = {"call": "calls", "inherit": "inherits", "type": "uses", "name": "uses"}


@dataclass(frozen=True, slots=True)
class Definition:
    """A definition of the symbols table. Its signature and docstring are what it shows,
    not what it is: two rows that differ only there are the same definition (the graph
    tables hold theirs without them, `TABLE_DEF_COLS`; a row read with them equals it)."""

    path: str
    qualname: str
    name: str
    kind: str
    parent: str | None
    signature: str = field(compare=False)
    doc: str = field(compare=False)
    start_line: int
    end_line: int
    bases: tuple[str, ...] = ()
    returns: str = ""  # the type a function returns or a field holds (`core.Symbol.returns`)


@dataclass(frozen=True, slots=True)
class RefEdge:
    """`source` uses `target` (a call, inheritance or type use) at `path:line`."""

    source: Definition | str  # the enclosing definition, or a file path for top-level code
    target: Definition
    kind: str  # calls, inherits, uses
    path: str
    line: int
    confidence: float


DEF_COLS = (
    "f.path, s.qualname, s.name, s.kind, s.parent, s.signature, s.doc, s.start_line, "
    "s.end_line, s.bases, s.returns"
)
# The same columns without the signature and docstring (read as ""): the graph tables hold
# every definition, and the search tables hold those texts already, as one buffer
# (`SearchTables.texts`; moby's 26k: 2.2 MB of text, 4.8 MB as strings). What shows a
# definition of the graph tables reads them there (`indexer.graph.with_texts`).
TABLE_DEF_COLS = DEF_COLS.replace("s.signature, s.doc", "'' AS signature, '' AS doc")


def definition(row: Sequence[Any]) -> Definition:
    """A `DEF_COLS` row as a Definition (DuckDB gives its text columns as str, its lines as
    int). The path and names interned: the in-memory graph holds every definition, and a
    path or name repeats; a signature or docstring rarely does, and the graph tables keep
    an unchanged definition of the last generation rather than its new copy."""
    path, qualname, name, kind, parent, signature, doc, start, end, bases, returns = row[:11]
    intern = sys.intern
    return Definition(
        intern(path), intern(qualname), intern(name), intern(kind),
        None if parent is None else intern(parent), signature or "", doc or "",
        start, end, tuple(bases) if bases else (), intern(returns) if returns else "",
    )


def definitions_named(store: Store, names: Iterable[str]) -> dict[str, list[Definition]]:
    names = sorted(set(names))
    if not names:
        return {}
    rows = store.query(
        f"SELECT {DEF_COLS} FROM symbols s JOIN files f USING (file_id) "
        "WHERE s.name IN (SELECT unnest(?)) ORDER BY f.path, s.start_line, s.qualname",
        [names],
    )
    out: dict[str, list[Definition]] = defaultdict(list)
    for row in rows:
        d = definition(row)
        if len(out[d.name]) < MAX_CANDIDATES:
            out[d.name].append(d)
    return dict(out)


def imported_files(cur: duckdb.DuckDBPyConnection, paths: Iterable[str]) -> dict[str, set[str]]:
    """path -> files it imports (a Go package import counts every file of the package dir)."""
    paths = sorted(set(paths))
    out: dict[str, set[str]] = {p: set() for p in paths}
    if not paths:
        return out
    rows = cur.execute(
        "SELECT e.src_path, e.dst_path, e.dst_kind FROM file_edges e "
        "WHERE e.src_path IN (SELECT unnest(?)) AND e.dst_kind <> 'external'",
        [paths],
    ).fetchall()
    for src, dst, kind in rows:
        out[src].add(dst if kind == "file" else dst + "/")  # trailing slash marks a directory
    return out


def _in_imports(path: str, imports: set[str]) -> bool:
    if path in imports:
        return True
    return posixpath.dirname(path) + "/" in imports and not path.endswith("_test.go")


def _visible(defn: Definition, path: str) -> bool:
    """Go: an unexported (lower-case) name is visible in its own package directory only."""
    if not defn.path.endswith(".go") or defn.name[:1].isupper():
        return True
    return posixpath.dirname(defn.path) == posixpath.dirname(path)


def score(defn: Definition, path: str, scope: str | None, imports: set[str], n_defs: int) -> float:
    """How likely a use in `path` (inside `scope`) refers to `defn`."""
    if defn.path == path:
        owner = scope.rsplit(".", 1)[0] if scope and "." in scope else scope
        same_class = (
            defn.parent is not None
            and scope is not None
            and (defn.parent in (scope, owner) or scope.startswith(defn.parent + "."))
        )
        return 1.0 if same_class else 0.9
    if _in_imports(defn.path, imports):
        return 0.8
    if posixpath.dirname(defn.path) == posixpath.dirname(path):
        return 0.6
    return 0.5 if n_defs == 1 else 0.4 / n_defs


def best_tier(defs: list[Definition], path: str, scope: str | None, qualifier: str | None,
              look: Lookup | None) -> set[int] | None:
    """The indexes of `defs` in the best tier a use after `qualifier` puts them in
    (`indexer.graph.qualify`); None: all of them (no qualifier known)."""
    if look is None or qualifier is None or not defs:
        return None
    memo = look.best_tiers()
    key = (defs[0].name, *tier_key(qualifier, path, scope))
    found = memo.get(key)
    if found is None:
        if len(memo) >= MAX_MEMO:
            memo.clear()
        found = memo[key] = frozenset(best_of(tiers(defs, path, scope, qualifier, look)))
    return set(found)


def best_of(ranked: list[int]) -> set[int]:
    """The indexes of the best tier in `ranked` (none when every one is ruled out)."""
    best = max(ranked, default=0)
    return {i for i, t in enumerate(ranked) if t == best} if best else set()


def resolve_use(
    defs: list[Definition],
    path: str,
    scope: str | None,
    imports: set[str],
    context: frozenset[str] = frozenset(),
    qualifier: str | None = None,
    look: Lookup | None = None,
) -> list[tuple[Definition, float]]:
    """The definitions a use most likely refers to, with confidence.

    `context`: the other names used in the same scope; a method whose owner type is among
    them (`c := pool.Get().(*Context); c.reset()`) beats same-named methods of other types.
    `qualifier`: what the call site says before the name, read with `look`."""
    allowed = best_tier(defs, path, scope, qualifier, look)
    n = len(defs) if allowed is None else len(allowed)
    scored = [
        (d, score(d, path, scope, imports, n) + _owner_bonus(d, context))
        for i, d in enumerate(defs)
        if _visible(d, path) and (allowed is None or i in allowed)
    ]
    if not scored:
        return []
    best = max(s for _, s in scored)
    top = [(d, min(1.0, s)) for d, s in scored if s == best]
    if best < 0.5 and len(top) > 3:
        return []
    split = len(top) if best < 0.9 else 1
    return [(d, round(s / split, 3)) for d, s in top[:8]]


class Candidates:
    """The definitions of one name, indexed by file and directory, so that resolving a use
    looks only at the definitions of the use's file, of the files it imports and of its
    directory instead of scoring every definition (the levels of `score` are at least 0.1
    apart and the owner bonus is 0.05, so the best level decides). `resolve` answers
    exactly what `resolve_use` answers for the same definitions."""

    __slots__ = ("by_dir", "by_path", "defs", "leaf", "vis", "visible_anywhere")

    def __init__(self, defs: list[Definition]) -> None:
        self.defs = defs
        self.by_path: dict[str, list[int]] = defaultdict(list)
        self.by_dir: dict[str, list[int]] = defaultdict(list)
        self.leaf: list[str | None] = []
        self.visible_anywhere: list[int] = []
        for i, d in enumerate(defs):
            self.by_path[d.path].append(i)
            self.by_dir[posixpath.dirname(d.path)].append(i)
            self.leaf.append(d.parent.rsplit(".", 1)[-1] if d.parent else None)
            if not d.path.endswith(".go") or d.name[:1].isupper():
                self.visible_anywhere.append(i)
        self.vis = frozenset(self.visible_anywhere)

    def resolve(
        self,
        path: str,
        scope: str | None,
        imports: set[str],
        context: frozenset[str] = frozenset(),
        qualifier: str | None = None,
        look: Lookup | None = None,
    ) -> list[tuple[Definition, float]]:
        if not self.defs:
            return []
        return self.resolve_among(best_tier(self.defs, path, scope, qualifier, look),
                                  path, scope, imports, context)

    def resolve_among(self, allowed: set[int] | None, path: str, scope: str | None,
                      imports: set[str], context: frozenset[str] = frozenset(),
                      ) -> list[tuple[Definition, float]]:
        """`resolve` among the definitions of indexes `allowed` (None: all)."""
        if not self.defs or (allowed is not None and not allowed):  # none, or all ruled out
            return []
        base = self._base_scores(path, scope, imports, allowed)
        if not base:
            return []
        defs = self.defs
        scored = [
            (i, base[i] + (0.05 if self.leaf[i] is not None and self.leaf[i] in context else 0.0))
            for i in sorted(base)
        ]
        best = max(s for _, s in scored)
        top = [(defs[i], min(1.0, s)) for i, s in scored if s == best]
        if best < 0.5 and len(top) > 3:
            return []
        split = len(top) if best < 0.9 else 1
        return [(d, round(s / split, 3)) for d, s in top[:8]]

    def _base_scores(self, path: str, scope: str | None, imports: set[str],
                     allowed: set[int] | None = None) -> dict[int, float]:
        """Candidate index -> confidence before the context bonus: definitions in the same
        file, else in what the file imports, else in its directory, else anywhere visible;
        of the `allowed` ones (None: all)."""
        defs = self.defs
        n = len(defs) if allowed is None else len(allowed)

        def kept(found: Iterable[int]) -> list[int]:
            return list(found) if allowed is None else [i for i in found if i in allowed]

        same_file = kept(self.by_path.get(path, ()))
        if same_file:
            return {i: score(defs[i], path, scope, imports, n) for i in same_file}
        d_use = posixpath.dirname(path)
        base = {i: level for i, level in self._imported(imports, d_use).items()
                if allowed is None or i in allowed}
        if not base:
            base = dict.fromkeys(kept(self.by_dir.get(d_use, ())), 0.6)
        if not base:
            level = 0.5 if n == 1 else 0.4 / n
            base = dict.fromkeys(kept(self.visible_anywhere), level)
        return base

    def _imported(self, imports: set[str], d_use: str) -> dict[int, float]:
        base: dict[int, float] = {}
        defs = self.defs
        for entry in imports:
            if entry.endswith("/"):
                for i in self.by_dir.get(entry[:-1], ()):
                    p = defs[i].path
                    if not p.endswith("_test.go") and (
                        i in self.vis or posixpath.dirname(p) == d_use
                    ):
                        base[i] = 0.8
            else:
                for i in self.by_path.get(entry, ()):
                    if i in self.vis or posixpath.dirname(entry) == d_use:
                        base[i] = 0.8
        return base


def _owner_bonus(d: Definition, context: frozenset[str]) -> float:
    return 0.05 if d.parent and d.parent.rsplit(".", 1)[-1] in context else 0.0


def callee_edges(sym: Definition, rows: Iterable[tuple[str, str, str | None, int]],
                 resolver: Callable[[str], Candidates], imports: set[str],
                 context: frozenset[str], look: Lookup) -> list[RefEdge]:
    """`sym`'s uses (name, kind, qualifier, first line), in line order, resolved: each
    target once per kind of use."""
    out: list[RefEdge] = []
    seen: set[tuple[str, str, str]] = set()
    for name, kind, qual, line in rows:
        edge = _EDGE.get(kind, "uses")
        for target, conf in resolver(name).resolve(
                sym.path, sym.qualname, imports, context, qual, look):
            key = (target.path, target.qualname, edge)
            if (target.qualname != sym.qualname or target.path != sym.path) and key not in seen:
                seen.add(key)
                out.append(RefEdge(sym, target, edge, sym.path, line, conf))
    return out


def use_confidence(defs: Candidates, sym: Definition, path: str, scope: str | None,
                   imports: set[str], context: frozenset[str], qualifier: str | None = None,
                   look: Lookup | None = None) -> float:
    """How confidently a use of `sym`'s name at (path, scope), after `qualifier`, refers
    to `sym` (0: it doesn't)."""
    return next((c for d, c in defs.resolve(path, scope, imports, context, qualifier, look)
                 if d.path == sym.path and d.qualname == sym.qualname), 0.0)
