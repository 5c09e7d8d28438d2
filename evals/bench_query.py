"""Query latency of search_code over MCP (in-memory client) on a large corpus.

    python -m evals.bench_query [--corpus moby] [--queries 200] [--out results.json]

The corpus is indexed lexically (no embeddings); then, so that hybrid queries pay the real
costs, the vector index is filled to the corpus's full chunk count and queries are embedded
by the real default GGUF model. Embedding every chunk of moby takes about 14 minutes on 2
CPU cores, so by default the stored vectors are random unit vectors (`--real-vectors N`
embeds the first N chunks for real and fills the rest randomly). ANN search cost depends on
the index's size and dimension, not on what the vectors mean, so the latency is
representative; retrieval quality is measured by `python -m evals`, not here.

Queries: a mix of identifiers (symbol names sampled from the index) and natural-language
phrases (first sentences of docstrings). Reports p50/p95/p99 in ms for hybrid and lexical.
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

import anyio
import numpy as np

from evals.bench_index import extract


def _queries(store, n: int, rng: random.Random) -> list[str]:
    names = [r[0] for r in store.query(
        "SELECT DISTINCT name FROM symbols WHERE length(name) > 4 ORDER BY name")]
    docs = [r[0].split(".")[0][:120] for r in store.query(
        "SELECT doc FROM symbols WHERE length(doc) > 30 ORDER BY qualname")]
    out = rng.sample(names, min(n // 2, len(names))) + rng.sample(docs, min(n - n // 2, len(docs)))
    rng.shuffle(out)
    return out


def _fill_vectors(index, embedder, real: int, rng: np.random.Generator) -> int:
    from indexer.live import VECTOR_DTYPE, embed_chunks
    from indexer.vectors import VectorIndex

    vectors = VectorIndex(index.paths.vectors, embedder.dim, VECTOR_DTYPE, "cos")
    ids = [r[0] for r in index.store.query("SELECT chunk_id FROM chunks ORDER BY chunk_id")]
    if real:
        embed_chunks(index, vectors, embedder, ids[:real])
    rest = np.array(ids[real:], dtype=np.uint64)
    if len(rest):
        vecs = rng.standard_normal((len(rest), embedder.dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        vectors.add(rest, vecs)
    vectors.save(index.store.generation)
    (index.paths.vectors.with_name("vectors.model")).write_text(embedder.model_id)
    return len(vectors)


async def _measure(settings, queries: list[str], mode: str) -> list[float]:
    from mcp import Client

    from mcp_server.runtime import Runtime
    from mcp_server.server import build_server

    runtime = Runtime(settings)
    timings: list[float] = []
    async with Client(build_server(settings, runtime)) as client:
        await anyio.to_thread.run_sync(runtime.ready.wait)
        while settings.embed and runtime.live is not None and runtime.live.vectors is None:
            await anyio.sleep(0.05)  # the embedder loads in the background thread
        await client.call_tool("search_code", {"query": "warm up", "mode": mode})
        for q in queries:
            started = time.perf_counter()
            result = await client.call_tool("search_code", {"query": q, "mode": mode})
            timings.append((time.perf_counter() - started) * 1000)
            assert not result.is_error, result.content
    return timings


def _summary(timings: list[float]) -> dict[str, float]:
    q = statistics.quantiles(timings, n=100)
    return {"p50": round(statistics.median(timings), 2), "p95": round(q[94], 2),
            "p99": round(q[98], 2), "n": len(timings)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", default="moby")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--real-vectors", type=int, default=0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    from indexer.build import index_repository
    from indexer.disk import IndexPaths, RepoIndex
    from indexer.embed import load_embedder
    from mcp_server.settings import Settings

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        root = extract(args.corpus, Path(tmp) / "src")
        paths = IndexPaths.for_repo(root, Path(tmp) / "index")
        embedder = load_embedder(None)
        with RepoIndex(paths) as index:
            stats = index_repository(index)
            queries = _queries(index.store, args.queries, rng)
            n_vectors = _fill_vectors(index, embedder, args.real_vectors,
                                      np.random.default_rng(7))
        report: dict[str, object] = {
            "corpus": args.corpus, "date": time.strftime("%Y-%m-%d"), "files": stats.indexed,
            "chunks": stats.chunks, "vectors": n_vectors, "real_vectors": args.real_vectors,
            "model": embedder.model_id}
        for mode in ("lexical", "hybrid"):
            settings = Settings(root=root, index_dir=paths.base, watch=False,
                                embed=mode == "hybrid")
            report[mode] = _summary(anyio.run(_measure, settings, queries, mode))
    text = json.dumps(report, indent=2)
    sys.stdout.write(text + "\n")
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
