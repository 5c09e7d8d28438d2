"""The uses of a name, each with the definitions it reaches: what `get_symbol` lists under a
definition.

Every use of `new` is a use of the name, not of every `new`: a use resolves (as a caller edge
does, `indexer.graph.refs.Candidates`) to the definitions its call site and place point at,
and its call site alone puts the definitions in tiers (`indexer.graph.qualify`). A
definition's references are the uses resolved to it, then those whose best tier holds it
(an `obj.new()` of a value of unknown type, a `new` another file defines as well); a use whose
call site rules it out (`Command::new` for `Gitignore.new`) or points at a more likely owner
(`Self::new` in another type) is not one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from indexer.graph.qualify import Lookup
from indexer.graph.refs import MAX_USES, Candidates, Definition, best_tier, imported_files
from indexer.graph.refs_sql import StoreLookup, scope_names
from indexer.graph.tables import GraphTables
from indexer.store import Store

Use = tuple[str, int, str, "str | None", "str | None"]  # path, line, kind, scope, qualifier


@dataclass(slots=True)
class NameUses:
    """The first `MAX_USES` uses of a name, in (path, line) order, and the definitions of the
    name (`defs`, as the graph holds them): per use, the indexes of those it resolves to
    (`resolved`) and of those in the best tier its call site puts them in (`possible`;
    None: all, the call site says nothing)."""

    defs: list[Definition]
    uses: list[Use]
    resolved: list[frozenset[int]] = field(default_factory=list)
    possible: list[frozenset[int] | None] = field(default_factory=list)

    def of(self, path: str, qualname: str, start_line: int) -> list[Use]:
        """The uses of the definition at (path, qualname, start line): those resolved to it
        first, then those its call site leaves possible; every use when the graph does not
        hold that definition."""
        first, then = self.tiers(path, qualname, start_line)
        return first + then

    def tiers(self, path: str, qualname: str, start_line: int,
              ) -> tuple[list[Use], list[Use]]:
        """`of`'s two parts: the uses resolved to the definition, and those its call site
        leaves possible (every use, as possible, when the graph does not hold it)."""
        index = next((i for i, d in enumerate(self.defs) if d.path == path
                      and d.qualname == qualname and d.start_line == start_line), None)
        if index is None:
            return [], list(self.uses)
        first = [u for u, r in zip(self.uses, self.resolved, strict=True) if index in r]
        then = [u for u, r, p in zip(self.uses, self.resolved, self.possible, strict=True)
                if index not in r and (p is None or index in p)]
        return first, then


def name_uses(store: Store, tables: GraphTables | None, name: str) -> NameUses:
    """The uses of `name` with the definitions each reaches: from the graph tables a server
    holds, else from the store (a query per kind of row)."""
    if tables is not None:
        uses: list[Use] = [(p, line, kind, scope, qual) for p, line, kind, scope, _n, qual
                           in tables.refs.named(name, MAX_USES)]
        return _classify(uses, tables.resolver(name), tables, tables.imports,
                         lambda p, s: tables.refs.scope_names(p, s))
    rows = store.query(
        "SELECT f.path, r.line, r.kind, r.scope, r.qualifier FROM refs r "
        "JOIN files f USING (file_id) WHERE r.name = ? ORDER BY f.path, r.line, r.start_byte "
        "LIMIT ?", [name, MAX_USES])
    uses = [(str(p), int(line), str(kind), scope, qual) for p, line, kind, scope, qual in rows]
    look = StoreLookup(store)
    look.prefetch([name], (u[0] for u in uses if u[4]))
    with store.reading() as cur:
        imports = imported_files(cur, (u[0] for u in uses))
        contexts = scope_names(cur, {(u[0], u[3]) for u in uses if u[3] is not None})
    return _classify(uses, Candidates(look.named(name)), look, imports.__getitem__,
                     lambda p, s: contexts.get((p, s), frozenset()))


def _classify(uses: list[Use], defs: Candidates, look: Lookup,
              imports: Callable[[str], set[str]],
              context: Callable[[str, str], frozenset[str]]) -> NameUses:
    out = NameUses(defs.defs, uses)
    index = {d: i for i, d in enumerate(defs.defs)}
    seen: dict[tuple[str, str | None, str | None], tuple[frozenset[int], frozenset[int] | None]]
    seen = {}
    for path, _line, _kind, scope, qual in uses:
        key = (path, scope, qual)
        verdict = seen.get(key)
        if verdict is None:
            allowed = best_tier(defs.defs, path, scope, qual, look)
            best = None if allowed is None else frozenset(allowed)
            found = defs.resolve_among(allowed, path, scope, imports(path),
                                       context(path, scope) if scope else frozenset())
            verdict = seen[key] = (frozenset(index[d] for d, _c in found if d in index), best)
        out.resolved.append(verdict[0])
        out.possible.append(verdict[1])
    return out
