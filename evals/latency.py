"""`python -m evals.latency --repo PATH [--index-dir DIR]`: search_code latency percentiles.

Calls the plain tool function (no MCP transport) on an existing index with a seeded mix of
queries taken from the index itself: symbol names (name lookups), first lines of
docstrings (natural language) and long issue-like texts with a Python stack trace. Prints
p50/p95 per kind and overall; lexical-only unless --mode says otherwise.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from indexer.disk import IndexPaths, RepoIndex
from indexer.live import LiveIndex
from tools.search import search_code


def query_mix(ctx: LiveIndex, n: int, seed: int) -> dict[str, list[str]]:
    rng = random.Random(seed)
    names = [r[0] for r in ctx.index.store.query(
        "SELECT DISTINCT name FROM symbols WHERE length(name) > 4 ORDER BY 1")]
    docs = [r[0].split("\n")[0] for r in ctx.index.store.query(
        "SELECT DISTINCT doc FROM symbols WHERE length(doc) > 30 ORDER BY 1")]
    picked_names = rng.sample(names, min(n, len(names)))
    picked_docs = rng.sample(docs, min(n, len(docs)))
    issues = [f"{d}\n\nIt fails with:\nTraceback (most recent call last):\n"
              f'  File "main.py", line 3, in <module>\n  File "lib.py", line 9, in {name}\n'
              f"ValueError: bad value\n" + " ".join(rng.sample(docs, 3))
              for d, name in zip(picked_docs[: n // 4], picked_names, strict=False)]
    return {"name": picked_names, "sentence": picked_docs, "issue": issues}


def measure(ctx: LiveIndex, queries: list[str], mode: str) -> list[float]:
    out = []
    for q in queries:
        started = time.perf_counter()
        search_code(ctx, q, mode=mode)
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m evals.latency")
    p.add_argument("--repo", type=Path, required=True)
    p.add_argument("--index-dir", type=Path, default=None)
    p.add_argument("-n", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--mode", default="lexical")
    args = p.parse_args()
    with RepoIndex(IndexPaths.for_repo(args.repo, args.index_dir)) as index:
        ctx = LiveIndex(index)
        chunks = index.store.query_one("SELECT count(*) FROM chunks")
        mix = query_mix(ctx, args.n, args.seed)
        measure(ctx, mix["name"][:20], args.mode)  # warm caches
        every: list[float] = []
        print(f"{args.repo.name}: {chunks[0] if chunks else 0} chunks, mode {args.mode}")
        for kind, queries in mix.items():
            took = measure(ctx, queries, args.mode)
            every.extend(took)
            print(f"  {kind:9s} n={len(took):4d} p50 {statistics.median(took):6.1f} ms  "
                  f"p95 {sorted(took)[int(0.95 * (len(took) - 1))]:6.1f} ms")
        print(f"  {'all':9s} n={len(every):4d} p50 {statistics.median(every):6.1f} ms")


if __name__ == "__main__":
    main()
