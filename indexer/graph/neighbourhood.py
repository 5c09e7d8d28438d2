"""The dependency neighbourhood of a file or symbol, ranked by personalized PageRank.

`expand()` walks the graph breadth-first from a seed, `depth` hops, in the requested
direction(s):

- a file's out-edges are its resolved imports (`file_edges`; a Go package import becomes the
  package files whose names the importer uses), its external imports, and the files whose
  definitions it uses without an import (same Go package, same file set);
- a file's in-edges are the files importing it (or its Go package, when they use its names);
- a symbol's out-edges are its resolved callees, base classes and type uses
  (`indexer.graph.refs`); its in-edges are its callers and subclasses (inheritance uses).

The collected subgraph is ranked by PageRank personalized on the seed (edge weight = the
resolution confidence), with the repository-wide file rank as a tie-breaker.

Speed: the walk reads `indexer.graph.tables` (in memory per generation) instead of per-node
SQL (0.3-1.3 s per walk on moby before), and each node's neighbours are kept there too; a
walk costs 10-60 ms.
"""

from __future__ import annotations

import posixpath
import threading
from collections import defaultdict
from dataclasses import dataclass, field

from indexer.graph import refs as refgraph
from indexer.graph.build import pagerank
from indexer.graph.refs import Definition
from indexer.graph.tables import (
    GraphTables,
    callees,
    callers,
    files_used,
    files_using,
    graph_tables,
    package_files_used,
)
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
    line: int = 0  # a reference's line in the source's file (symbol edges; 0: none)


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


_CACHE_SIZE = 2048
_cache_lock = threading.Lock()


def _cached_neighbours(t: GraphTables, node: Node, direction: str) -> list[tuple[Node, Edge]]:
    """`_neighbours`, kept per store and graph generation (a node's edges change only when
    the index does); the nodes handed out are copies, since `expand` sets their depth."""
    key = (node.key, direction)
    cache = t.neighbours
    with _cache_lock:
        hit = cache.get(key)
    if hit is None:
        hit = _neighbours(t, node, direction)[:MAX_PER_NODE]
        with _cache_lock:
            if len(cache) >= _CACHE_SIZE:
                cache.pop(next(iter(cache)))
            cache[key] = hit
    return [(Node(n.key, n.kind, n.path, n.line, 0, n.defn), e) for n, e in hit]


def expand(store: Store, seeds: list[Node], direction: str, depth: int) -> Neighbourhood:
    """Walk `depth` hops from `seeds` (several when a plain name has several definitions)."""
    hood = Neighbourhood(seeds, {s.key: s for s in seeds})
    frontier = list(seeds)
    tables = graph_tables(store)
    for hop in range(1, depth + 1):
        found: list[Node] = []
        for node in frontier:
            for nb, edge in _cached_neighbours(tables, node, direction):
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
    _rank(tables, hood)
    return hood


def _neighbours(t: GraphTables, node: Node, direction: str) -> list[tuple[Node, Edge]]:
    out: list[tuple[Node, Edge]] = []
    if node.kind == "file" and node.path is not None:
        if direction in ("out", "both"):
            out += _file_out(t, node.path)
        if direction in ("in", "both"):
            out += _file_in(t, node.path)
    elif node.kind == "symbol" and node.defn is not None:
        if direction in ("out", "both"):
            out += [_ref_pair(e, outgoing=True) for e in callees(t, node.defn)]
        if direction in ("in", "both"):
            out += [_ref_pair(e, outgoing=False) for e in callers(t, node.defn)]
    return sorted((p for p in out if p[1].weight >= MIN_WEIGHT), key=lambda p: -p[1].weight)


def _ref_pair(e: refgraph.RefEdge, outgoing: bool) -> tuple[Node, Edge]:
    src = symbol_node(e.source) if isinstance(e.source, Definition) else file_node(e.source)
    dst = symbol_node(e.target)
    detail = f"{e.path}:{e.line}, confidence {e.confidence:g}"
    return (dst if outgoing else src), Edge(src.key, dst.key, e.kind, detail, e.confidence,
                                            e.line)


def _file_out(t: GraphTables, path: str) -> list[tuple[Node, Edge]]:
    rows = t.out_edges.get(path, [])
    out: list[tuple[Node, Edge]] = []
    src = f"file:{path}"
    packages = package_files_used(t, path, [r[0] for r in rows if r[1] == "dir"])
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
        for target in targets:
            out.append(
                (
                    file_node(target),
                    Edge(src, f"file:{target}", "imports", f"import {module} (line {line})", 1.0),
                )
            )
    known = {n.key for n, _ in out}
    for target, conf, names in files_used(t, path):
        if f"file:{target}" not in known:
            detail = "uses " + ", ".join(names[:5])
            out.append((file_node(target), Edge(src, f"file:{target}", "uses", detail, conf)))
    return out


def _file_in(t: GraphTables, path: str) -> list[tuple[Node, Edge]]:
    """Files importing `path` (or its Go package, when they use its top-level names)."""
    top = t.top_names.get(path, set())
    lines: dict[tuple[str, str], int] = {}
    matched = list(t.in_file.get(path, ()))
    package = t.in_dir.get(posixpath.dirname(path), [])
    users = t.refs.users({r[0] for r in package}, top)  # of the package's names
    matched += [r for r in package if r[0] in users]
    for src, module, line in matched:
        k = (src, module)
        if k not in lines or (line is not None and (lines[k] is None or line < lines[k])):
            lines[k] = line
    rows = sorted(lines.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))[:500]
    dst = f"file:{path}"
    out = [
        (file_node(src), Edge(f"file:{src}", dst, "imports", f"import {module} (line {line})", 1.0))
        for (src, module), line in rows
    ]
    known = {n.key for n, _ in out}
    for src, conf, names in files_using(t, path):
        if f"file:{src}" not in known:
            out.append(
                (
                    file_node(src),
                    Edge(f"file:{src}", dst, "uses", "uses " + ", ".join(names[:5]), conf),
                )
            )
    return out


def _rank(tables: GraphTables, hood: Neighbourhood) -> None:
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
    prior = _file_priors(tables, [n.path for n in hood.nodes.values() if n.path])
    for key, node in hood.nodes.items():
        node.score = round(ranks.get(key, 0.0) + 0.01 * prior.get(node.path or "", 0.0), 5)


def _file_priors(tables: GraphTables, paths: list[str]) -> dict[str, float]:
    """Each path's PageRank over the highest among `paths` (the generation's `file_rank`, as
    the graph tables hold it: a query per walk cost 3% of a loaded server's CPU)."""
    rows = [(p, r) for p in set(paths) if (r := tables.rank.get(p)) is not None]
    top = max((r for _, r in rows), default=0.0) or 1.0
    return {p: r / top for p, r in rows}


