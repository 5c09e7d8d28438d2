"""Shards on Ray: bulk indexing with 1 and 2 Ray workers, and fan-out query latency.

    python -m evals.bench_cluster [--rounds 2] [--queries 40] [--model-chunks 200] [--out F]

1. Bulk index of the six shared corpora as six shards (`cluster_index`, lexical + symbols +
   graph, no embeddings) on a local Ray instance with 1 CPU, then 2 CPUs, alternating, each
   run into fresh index directories: wall seconds and the scaling ratio per round.
2. Per shard (from the last 2-CPU run): index seconds, peak RSS of the Ray worker, index
   bytes, chunks. Vector bytes per chunk: the shards embedded once through the embedding
   actor with a 384-dimension deterministic embedder (`hashing:384`, MiniLM's dimension;
   usearch's size depends on the dimension and count, not on what the vectors mean).
3. CPU chunks/s of the real default model through the embedding actor (`--model-chunks`
   real chunks; 0 skips it).
4. Query latency, search_code hybrid (lexical + symbols; no vectors), p50/p95 in ms:
   one index of all six repositories (one directory holding them), the six shards in this
   process (`LocalShards`, threads), and the six shards as Ray actors (`ClusterShards`,
   local Ray with 2 CPUs); each pair alternates query by query. Per-shard latency p50.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

SHARED = Path(os.environ.get("SEXTANT_SHARED_DIR",
                            Path(__file__).resolve().parent.parent.parent / "shared"))
CORPORA = ("flask", "gin", "requests", "ripgrep", "vue-core", "moby")


def extract(corpus: str, dest: Path) -> Path:
    """Extract corpus `corpus` under `dest`; the repository root inside it."""
    archive = next((SHARED / "corpora").glob(f"{corpus}-*.tar.gz"))
    dest.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in dest.iterdir()}
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return next(p for p in dest.iterdir() if p.is_dir() and p.name not in before)


def _workspace(base: Path, roots: dict[str, Path], tag: str) -> Any:
    from mcp_server.workspace import load_workspace

    file = base / f"{tag}.toml"
    file.write_text("".join(f'[[repo]]\nname = "{n}"\npath = "{p}"\n'
                            f'index_dir = "{base / tag / n}"\n\n' for n, p in roots.items()))
    return load_workspace(file)


def _settings(base: Path, model: str = "hashing:384") -> Any:
    from mcp_server.settings import Settings

    return Settings(root=base, watch=False, embed=False, model=model)


def _build(base: Path, roots: dict[str, Path], tag: str, cpus: int,
           embed: bool = False) -> dict[str, Any]:
    import ray

    from mcp_server.cluster import cluster_index, init_ray

    init_ray(None, num_cpus=cpus)
    try:
        return cluster_index(_workspace(base, roots, tag), _settings(base), embed=embed)
    finally:
        ray.shutdown()


def bench_scaling(base: Path, roots: dict[str, Path], rounds: int) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for r in range(rounds):
        one = _build(base, roots, f"r{r}-w1", 1)
        two = _build(base, roots, f"r{r}-w2", 2)
        runs.append({"w1_s": one["seconds"], "w2_s": two["seconds"],
                     "speedup": round(one["seconds"] / two["seconds"], 2), "shards": two["shards"]})
        print(f"round {r}: 1 worker {one['seconds']} s, 2 workers {two['seconds']} s",
              file=sys.stderr)
    return {"runs": runs}


def bench_model(base: Path, roots: dict[str, Path], n: int) -> dict[str, Any]:
    """Real default model, `n` flask chunks, through the embedding actor (CPU)."""
    import ray

    from indexer.disk import IndexPaths, RepoIndex
    from indexer.live import embedded_text
    from mcp_server.cluster import _ActorCalls, _EmbedActor, init_ray

    paths = IndexPaths.for_repo(roots["flask"], base / f"r{0}-w1" / "flask")
    with RepoIndex(paths) as index:
        rows = index.store.query("SELECT header, text FROM chunks ORDER BY chunk_id LIMIT ?", [n])
    texts = [embedded_text(h, t) for h, t in rows]
    init_ray(None, num_cpus=2)
    try:
        actor = ray.remote(num_cpus=0)(_EmbedActor).remote(None, 0)
        calls = _ActorCalls(actor)
        calls.info()  # the model is loaded
        started = time.perf_counter()
        for i in range(0, len(texts), 64):
            calls.embed_documents(texts[i:i + 64])
        wall = time.perf_counter() - started
        stats = ray.get(actor.stats.remote())
    finally:
        ray.shutdown()
    return {"chunks": len(texts), "wall_s": round(wall, 2),
            "chunks_per_s": round(len(texts) / wall, 1), "model_s": stats["model_seconds"]}


def _pcts(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"p50_ms": round(statistics.median(s), 1),
            "p95_ms": round(s[min(len(s) - 1, int(0.95 * len(s)))], 1), "n": len(s)}


def _queries(roots: dict[str, Path], n: int) -> list[str]:
    words = ["parse arguments", "http request headers", "render template", "json encoding",
             "router group middleware", "reactive effect scheduler", "container logs",
             "session cookie", "glob matching", "error handling", "read config file",
             "search pattern", "compile template", "image pull", "redirect response",
             "NewClient", "ContainerCreate", "Flask.route", "Session.request", "ref",
             "computed", "Context.JSON", "walk directory", "connection pool"]
    random.Random(7).shuffle(words)
    return (words * (n // len(words) + 1))[:n]


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def bench_latency(base: Path, roots: dict[str, Path], tag: str, n: int) -> dict[str, Any]:
    from indexer.build import index_repository
    from indexer.disk import IndexPaths, RepoIndex
    from indexer.live import LiveIndex
    from mcp_server.cluster import ClusterShards
    from mcp_server.workspace import LocalShards, answer
    from tools.search import search_code

    all_root = base / "all"
    if not all_root.exists():
        for name in CORPORA:
            extract(name, all_root)
    single = LiveIndex(RepoIndex(IndexPaths.for_repo(all_root, base / "single")))
    index_repository(single.index)
    queries = _queries(roots, n)
    workspace = _workspace(base, roots, tag)
    out: dict[str, Any] = {}
    for label, shards in (("local", LocalShards(workspace, _settings(base))),
                          ("ray", ClusterShards(workspace, _settings(base), timeout_s=60))):
        shards.open()
        assert shards.wait_ready(300)
        for q in queries[:3]:  # warm caches on both sides
            answer(shards, "search_code", {"query": q, "k": 10})
            search_code(single, q, k=10)
        fan, one, per = [], [], {name: [] for name in workspace.names}
        for q in queries:
            kwargs = {"query": q, "k": 10}
            one.append(_timed(partial(search_code, single, q, k=10)))
            fan.append(_timed(partial(answer, shards, "search_code", kwargs)))
            if label == "local":
                for name in workspace.names:
                    per[name].append(_timed(partial(answer, shards, "search_code", kwargs,
                                                    [name])))
        rss = shards.peak_rss_mb() if isinstance(shards, ClusterShards) else None
        shards.close()
        out[label] = {"fanout": _pcts(fan), "single": _pcts(one)}
        if rss is not None:
            out["actor_peak_rss_mb"] = rss
        if label == "local":
            out["per_shard_p50_ms"] = {k: _pcts(v)["p50_ms"] for k, v in per.items()}
        print(f"{label}: fan-out {out[label]['fanout']}, single {out[label]['single']}",
              file=sys.stderr)
    single.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--model-chunks", type=int, default=200)
    parser.add_argument("--no-embedded", action="store_true", help="skip step 2's embedded build")
    parser.add_argument("--no-latency", action="store_true", help="skip step 4")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sextant-bench-cluster-") as tmp:
        base = Path(tmp)
        roots = {name: extract(name, base / "src" / name) for name in CORPORA}
        result: dict[str, Any] = {"scaling": bench_scaling(base, roots, args.rounds)}
        if not args.no_embedded:
            embedded = _build(base, roots, "embedded", 2, embed=True)
            result["embedded"] = {"shards": embedded["shards"], "seconds": embedded["seconds"],
                                  "embedding": embedded["embedding"]}
        if args.model_chunks:
            result["model"] = bench_model(base, roots, args.model_chunks)
        if not args.no_latency:
            result["latency"] = bench_latency(base, roots, f"r{args.rounds - 1}-w2",
                                              args.queries)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text)
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
