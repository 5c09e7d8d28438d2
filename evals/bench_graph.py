"""Latency of the graph tools on a large corpus (moby by default).

    python -m evals.bench_graph [--corpus moby] [--root DIR] [--index-dir DIR]
                                [--out results.json] [--answers answers.json]

Indexes the corpus (incrementally when the index directory already holds it), then times,
in this process:

- expand_dependencies for 30 targets (15 files, 15 symbols, sampled deterministically),
  each `out` depth 1, `in` depth 1, `both` depth 1 and `both` depth 2;
- get_symbol(include_references=True) for very common names (Close, String, Error, ...)
  and for rare ones (sampled);
- summarize_dir of the root (first call in the process, then warm) and of subdirectories.

The first expand call of a store generation loads the in-memory graph tables; later calls
reuse per-node neighbours (`--cold-nodes` clears those before every call).

Reports p50/p95/max in ms per operation as JSON. `--answers` writes the top node ids of
every expand_dependencies answer, to compare the answers of two versions.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

COMMON = ["Close", "String", "Error", "New", "Get"]
COMBOS = [("out", 1), ("in", 1), ("both", 1), ("both", 2)]


def _stats(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    p95 = s[min(len(s) - 1, max(0, round(0.95 * len(s)) - 1))]
    return {"n": len(s), "p50": round(statistics.median(s), 1), "p95": round(p95, 1),
            "max": round(s[-1], 1)}


def _targets(store, rng: random.Random) -> tuple[list[str], list[str]]:
    files = [r[0] for r in store.query(
        "SELECT path FROM files WHERE language = 'go' AND NOT ends_with(path, '_test.go') "
        "AND NOT starts_with(path, 'vendor/') ORDER BY path")]
    top = [r[0] for r in store.query(
        "SELECT path FROM file_rank WHERE NOT starts_with(path, 'vendor/') "
        "ORDER BY rank DESC, path LIMIT 5")]
    picked_files = top + rng.sample(files, 10)
    syms = [f"{p}:{q}" for p, q in store.query(
        "SELECT f.path, s.qualname FROM symbols s JOIN files f USING (file_id) "
        "WHERE s.kind IN ('function', 'method') AND f.language = 'go' "
        "AND NOT ends_with(f.path, '_test.go') AND NOT starts_with(f.path, 'vendor/') "
        "ORDER BY f.path, s.qualname")]
    plain = ["Close", "NewDaemon"]  # a plain name with many definitions, a common constructor
    return picked_files, plain + rng.sample(syms, 13)


def _time(fn, *args, **kw) -> tuple[float, object]:
    started = time.perf_counter()
    out = fn(*args, **kw)
    return (time.perf_counter() - started) * 1000, out


def run(
    root: Path, index_dir: Path, cold_nodes: bool = False
) -> tuple[dict[str, object], dict[str, object]]:
    from indexer.build import index_repository
    from indexer.disk import IndexPaths, RepoIndex
    from indexer.graph import tables as graph_tables
    from indexer.live import LiveIndex
    from tools.deps import expand_dependencies
    from tools.errors import ToolError
    from tools.summary import summarize_dir
    from tools.symbols import get_symbol

    index = RepoIndex(IndexPaths.for_repo(root, index_dir))
    started = time.perf_counter()
    index_repository(index)
    index_s = time.perf_counter() - started
    ctx = LiveIndex(index)
    store = index.store
    rng = random.Random(7)
    timings: dict[str, list[float]] = {}
    answers: dict[str, object] = {}

    # summarize_dir first: the root's first call is the one users wait for
    ms, _ = _time(summarize_dir, ctx, ".", depth=1)
    timings["summarize_dir root first call"] = [ms]
    for _ in range(5):
        ms, _ = _time(summarize_dir, ctx, ".", depth=1)
        timings.setdefault("summarize_dir root warm", []).append(ms)
    for d in ("daemon", "client", "api/types", "libnetwork", "integration"):
        try:
            ms, _ = _time(summarize_dir, ctx, d, depth=1)
        except ToolError:
            continue
        timings.setdefault("summarize_dir subdir", []).append(ms)

    files, syms = _targets(store, rng)
    for kind, targets in (("file", files), ("symbol", syms)):
        for target in targets:
            for direction, depth in COMBOS:
                op = f"expand {kind} {direction} d{depth}"
                if cold_nodes:  # no reuse of per-node neighbours between calls
                    graph_tables.graph_tables(store).neighbours.clear()
                try:
                    ms, res = _time(expand_dependencies, ctx, target, direction, depth)
                except ToolError as exc:
                    answers[f"{op} {target}"] = f"error: {exc}"
                    continue
                timings.setdefault(op, []).append(ms)
                timings.setdefault(f"expand {kind} (all)", []).append(ms)
                answers[f"{op} {target}"] = [n.id for n in res.nodes[:10]]

    rare = [r[0] for r in store.query(
        "SELECT name FROM (SELECT name, count(*) AS n FROM refs GROUP BY 1) "
        "WHERE n BETWEEN 2 AND 5 AND length(name) > 5 ORDER BY name")]
    for label, names in (("common", COMMON), ("rare", rng.sample(rare, 10))):
        for name in names:
            ms, res = _time(get_symbol, ctx, name, include_body=False, include_references=True)
            timings.setdefault(f"get_symbol refs {label}", []).append(ms)
            answers[f"get_symbol {name}"] = [
                (s.path, s.qualname, [(r.path, r.line) for r in (s.references or [])][:5])
                for s in res.symbols[:3]]
    report = {
        "corpus_root": str(root),
        "files": store.query_one("SELECT count(*) FROM files")[0],
        "refs": store.query_one("SELECT count(*) FROM refs")[0],
        "index_seconds": round(index_s, 1),
        "ops": {op: _stats(v) for op, v in timings.items()},
    }
    all_expand = timings.get("expand file (all)", []) + timings.get("expand symbol (all)", [])
    report["ops"]["expand (all)"] = _stats(all_expand)
    return report, answers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--corpus", default="moby")
    ap.add_argument("--root", help="an already extracted corpus (default: extract the archive)")
    ap.add_argument("--index-dir", default="", help="default: a temporary directory")
    ap.add_argument("--out", help="write the JSON report here too")
    ap.add_argument("--answers", help="write the top answers here (to compare versions)")
    ap.add_argument("--cold-nodes", action="store_true",
                    help="clear the per-node neighbour cache before every expand call")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-graph-") as tmp:
        if args.root:
            root = Path(args.root)
        else:
            from evals.bench_index import extract

            root = extract(args.corpus, Path(tmp) / "src")
        index_dir = Path(args.index_dir) if args.index_dir else Path(tmp) / "index"
        report, answers = run(root, index_dir, args.cold_nodes)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.answers:
        Path(args.answers).write_text(json.dumps(answers, indent=1, sort_keys=True) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
