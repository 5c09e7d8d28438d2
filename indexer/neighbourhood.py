"""The dependency neighbourhood of a file or symbol, ranked by personalized PageRank.

`expand()` walks the graph breadth-first from a seed, `depth` hops, in the requested
direction(s):

- a file's out-edges are its resolved imports (`file_edges`; a Go package import becomes the
  package files whose names the importer uses), its external imports, and the files whose
  definitions it uses without an import (same Go package, same file set);
- a file's in-edges are the files importing it (or its Go package, when they use its names);
- a symbol's out-edges are its resolved callees, base classes and type uses
  (`indexer.refgraph`); its in-edges are its callers and subclasses (inheritance uses).

The collected subgraph is ranked by PageRank personalized on the seed (edge weight = the
resolution confidence), with the repository-wide file rank as a tie-breaker.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass, field

from indexer import refgraph
from indexer.graph import pagerank
from indexer.refgraph import Definition
from indexer.store import Store

MAX_NODES = 250
MAX_PER_NODE = 40
MAX_FRONTIER = 15
MIN_WEIGHT = 0.2  # weaker reference resolutions are noise (a common method name)


@dataclass(slots=True)
class Node:
    key: str  # file:<path>, sym:<path>:<qualname>, ext:<module>
    kind: str  # file, symbol, external
    path: str | None
    line: int | None
    depth: int
    defn: Definition | None = None
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    kind: str  # imports, calls, inherits, uses, external
    detail: str
    weight: float


@dataclass(slots=True)
class Neighbourhood:
    seeds: list[Node]
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], Edge] = field(default_factory=dict)
    capped: bool = False


def file_node(path: str, depth: int = 0) -> Node:
    return Node(f"file:{path}", "file", path, None, depth)


def symbol_node(defn: Definition, depth: int = 0) -> Node:
    return Node(
        f"sym:{defn.path}:{defn.qualname}", "symbol", defn.path, defn.start_line, depth, defn
    )


def expand(store: Store, seeds: list[Node], direction: str, depth: int) -> Neighbourhood:
    """Walk `depth` hops from `seeds` (several when a plain name has several definitions)."""
    hood = Neighbourhood(seeds, {s.key: s for s in seeds})
    frontier = list(seeds)
    for hop in range(1, depth + 1):
        found: list[Node] = []
        for node in frontier:
            for nb, edge in _neighbours(store, node, direction)[:MAX_PER_NODE]:
                if edge.source == edge.target:
                    continue
                hood.edges.setdefault((edge.source, edge.target, edge.kind), edge)
                if nb.key not in hood.nodes:
                    if len(hood.nodes) >= MAX_NODES:
                        hood.capped = True
                        continue
                    nb.depth = hop
                    hood.nodes[nb.key] = nb
                    found.append(nb)
        frontier = [n for n in found if n.kind != "external"][:MAX_FRONTIER]
        hood.capped = hood.capped or len(found) > MAX_FRONTIER and hop < depth
    _rank(store, hood)
    return hood


def _neighbours(store: Store, node: Node, direction: str) -> list[tuple[Node, Edge]]:
    out: list[tuple[Node, Edge]] = []
    if node.kind == "file" and node.path is not None:
        if direction in ("out", "both"):
            out += _file_out(store, node.path)
        if direction in ("in", "both"):
            out += _file_in(store, node.path)
    elif node.kind == "symbol" and node.defn is not None:
        if direction in ("out", "both"):
            out += [_ref_pair(e, outgoing=True) for e in refgraph.callees(store, node.defn)]
        if direction in ("in", "both"):
            out += [_ref_pair(e, outgoing=False) for e in refgraph.callers(store, node.defn)]
    return sorted((p for p in out if p[1].weight >= MIN_WEIGHT), key=lambda p: -p[1].weight)


def _ref_pair(e: refgraph.RefEdge, outgoing: bool) -> tuple[Node, Edge]:
    src = symbol_node(e.source) if isinstance(e.source, Definition) else file_node(e.source)
    dst = symbol_node(e.target)
    detail = f"{e.path}:{e.line}, confidence {e.confidence:g}"
    return (dst if outgoing else src), Edge(src.key, dst.key, e.kind, detail, e.confidence)


def _file_out(store: Store, path: str) -> list[tuple[Node, Edge]]:
    rows = store.query(
        "SELECT dst_path, dst_kind, module, min(line) FROM file_edges WHERE src_path = ? "
        "GROUP BY ALL ORDER BY 4",
        [path],
    )
    out: list[tuple[Node, Edge]] = []
    src = f"file:{path}"
    packages = _package_files_used(store, path, [r[0] for r in rows if r[1] == "dir"])
    for dst, kind, module, line in rows:
        if kind == "external":
            out.append(
                (
                    Node(f"ext:{dst}", "external", None, None, 0),
                    Edge(src, f"ext:{dst}", "external", f"import {module} (line {line})", 0.3),
                )
            )
            continue
        targets = [dst] if kind == "file" else packages.get(dst, [])
        for t in targets:
            out.append(
                (
                    file_node(t),
                    Edge(src, f"file:{t}", "imports", f"import {module} (line {line})", 1.0),
                )
            )
    known = {n.key for n, _ in out}
    for target, conf, names in _files_used(store, path):
        if f"file:{target}" not in known:
            detail = "uses " + ", ".join(names[:5])
            out.append((file_node(target), Edge(src, f"file:{target}", "uses", detail, conf)))
    return out


def _file_in(store: Store, path: str) -> list[tuple[Node, Edge]]:
    d = posixpath.dirname(path)
    rows = store.query(
        """SELECT e.src_path, e.module, min(e.line) FROM file_edges e
           WHERE (e.dst_kind = 'file' AND e.dst_path = ?)
              OR (e.dst_kind = 'dir' AND e.dst_path = ? AND e.src_path IN (
                  SELECT DISTINCT f.path FROM refs r JOIN files f USING (file_id)
                  WHERE r.name IN (SELECT s.name FROM symbols s JOIN files g USING (file_id)
                                   WHERE g.path = ? AND s.parent IS NULL)))
           GROUP BY ALL ORDER BY 1 LIMIT 500""",
        [path, d, path],
    )
    dst = f"file:{path}"
    out = [
        (file_node(src), Edge(f"file:{src}", dst, "imports", f"import {module} (line {line})", 1.0))
        for src, module, line in rows
    ]
    known = {n.key for n, _ in out}
    for src, conf, names in _files_using(store, path):
        if f"file:{src}" not in known:
            out.append(
                (
                    file_node(src),
                    Edge(f"file:{src}", dst, "uses", "uses " + ", ".join(names[:5]), conf),
                )
            )
    return out


def _package_files_used(store: Store, src: str, pkg_dirs: list[str]) -> dict[str, list[str]]:
    """Per Go package dir: its files defining names that `src` uses (else its top files)."""
    if not pkg_dirs:
        return {}
    rows = store.query(
        """WITH used AS (SELECT DISTINCT r.name FROM refs r JOIN files g USING (file_id)
                         WHERE g.path = ?),
           cand AS (
             SELECT regexp_extract(f.path, '^(.*)/[^/]*$', 1) AS dir, f.path,
                    count(DISTINCT s.name) FILTER (WHERE s.name IN (SELECT name FROM used)) AS n,
                    any_value(k.rank) AS rank
             FROM symbols s JOIN files f USING (file_id) LEFT JOIN file_rank k ON k.path = f.path
             WHERE dir IN (SELECT unnest(?)) AND NOT ends_with(f.path, '_test.go')
             GROUP BY 1, 2)
           SELECT dir, path FROM cand
           QUALIFY (n > 0 OR max(n) OVER (PARTITION BY dir) = 0)
             AND row_number() OVER (PARTITION BY dir ORDER BY n DESC, rank DESC NULLS LAST, path)
                 <= CASE WHEN max(n) OVER (PARTITION BY dir) = 0 THEN 2 ELSE 8 END""",
        [src, pkg_dirs],
    )
    out: dict[str, list[str]] = {}
    for d, path in rows:
        out.setdefault(d, []).append(path)
    return out


def _prefix(d: str) -> str:
    return d + "/" if d else ""


def _files_used(store: Store, path: str) -> list[tuple[str, float, list[str]]]:
    """Other files whose definitions `path` uses at confidence >= 0.6 (same package, imports)."""
    rows = store.query(
        "SELECT r.name, any_value(r.scope) FROM refs r JOIN files f USING (file_id) "
        "WHERE f.path = ? GROUP BY 1",
        [path],
    )
    defs = refgraph.definitions_named(store, (r[0] for r in rows))
    imports = refgraph.imported_files(store.reader(), [path])[path]
    found: dict[str, tuple[float, list[str]]] = {}
    for name, scope in rows:
        for d, conf in refgraph.resolve_use(defs.get(name, []), path, scope, imports):
            if d.path != path and conf >= 0.6:
                best, names = found.get(d.path, (0.0, []))
                found[d.path] = (max(best, conf), names + [name])
    ranked = sorted(found.items(), key=lambda kv: (-len(kv[1][1]), kv[0]))
    return [(p, conf, names) for p, (conf, names) in ranked]


def _files_using(store: Store, path: str) -> list[tuple[str, float, list[str]]]:
    """Files in the same directory that use top-level names defined in `path`."""
    d = posixpath.dirname(path)
    rows = store.query(
        """SELECT f.path, list(DISTINCT r.name) FROM refs r JOIN files f USING (file_id)
           WHERE starts_with(f.path, ?) AND NOT contains(substr(f.path, length(?) + 1), '/')
             AND f.path <> ?
             AND r.name IN (SELECT s.name FROM symbols s JOIN files g USING (file_id) WHERE g.path = ?)
           GROUP BY 1 ORDER BY len(list(DISTINCT r.name)) DESC LIMIT 40""",
        [_prefix(d), _prefix(d), path, path],
    )
    return [(p, 0.6, sorted(names)) for p, names in rows]


def _rank(store: Store, hood: Neighbourhood) -> None:
    weights: dict[tuple[str, str], float] = defaultdict(float)
    for e in hood.edges.values():
        a, b = (e.source, e.target)
        # rank flows away from the seed along the direction the walk took
        if (
            hood.nodes.get(b) is not None
            and hood.nodes.get(a) is not None
            and hood.nodes[b].depth < hood.nodes[a].depth
        ):
            a, b = b, a
        weights[(a, b)] += e.weight
    ranks = pagerank(
        hood.nodes,
        [(a, b, w) for (a, b), w in weights.items()],
        personal={s.key: 1.0 for s in hood.seeds},
    )
    prior = _file_priors(store, [n.path for n in hood.nodes.values() if n.path])
    for key, node in hood.nodes.items():
        node.score = round(ranks.get(key, 0.0) + 0.01 * prior.get(node.path or "", 0.0), 5)


def _file_priors(store: Store, paths: list[str]) -> dict[str, float]:
    if not paths:
        return {}
    rows = store.query(
        "SELECT path, rank FROM file_rank WHERE path IN (SELECT unnest(?))", [sorted(set(paths))]
    )
    top = max((r[1] for r in rows), default=0.0) or 1.0
    return {r[0]: r[1] / top for r in rows}
