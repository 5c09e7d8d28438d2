"""Recall@10 of the usearch index (i8, f16, f32) against exact search, on real MiniLM vectors.

    python -m evals.bench_vectors_recall [--corpus flask --corpus requests ...]
                                         [--queries 300] [--out recall.json]

Vectors are the default model's embeddings of code chunks (see evals.bench_embed) from the
given corpora, cached under $TMPDIR/sextant-bench-vectors/ per corpus and model id, since
embedding thousands of chunks on a CPU takes minutes. A held-out sample of chunk vectors
serves as queries; the truth is numpy brute force in float32. Each index is built through
`indexer.vectors.index.VectorIndex`, exactly as Sextant builds it, at several sizes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evals.bench_embed import SOURCE_SUFFIXES, code_chunks
from indexer.vectors import VectorIndex

CACHE = Path(tempfile.gettempdir()) / "sextant-bench-vectors"
DEFAULT_CORPORA = ("flask", "requests", "gin", "ripgrep")


def corpus_vectors(name: str, quant: str) -> np.ndarray:
    """Embeddings of every chunk of corpus `name`, from the cache when present."""
    from indexer.embed.convert import model_fingerprint, provision_default_model
    from indexer.embed.gguf import GGUFEmbedder

    model = provision_default_model(quant)
    path = CACHE / f"{name}-{model.stem}-{model_fingerprint(model)[:12]}.npy"
    if path.is_file():
        return np.load(path)
    chunks = code_chunks([name], suffixes=SOURCE_SUFFIXES)
    sys.stderr.write(f"embedding {len(chunks)} chunks of {name} (cached in {path})\n")
    start = time.perf_counter()
    vectors = GGUFEmbedder(model).embed_documents(chunks)
    sys.stderr.write(f"  {len(chunks) / (time.perf_counter() - start):.1f} chunks/s\n")
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def exact_top(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ data.T
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    return np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, 1), 1), 1)


def recall(data: np.ndarray, queries: np.ndarray, dtype: str, k: int = 10) -> dict[str, Any]:
    truth = exact_top(data, queries, k)
    with tempfile.TemporaryDirectory() as tmp:
        index = VectorIndex.open(Path(tmp) / "v.usearch", data.shape[1], dtype=dtype)
        start = time.perf_counter()
        index.add(np.arange(len(data), dtype=np.uint64), data)
        build = time.perf_counter() - start
        start = time.perf_counter()
        found = [[key for key, _ in index.search(q, k)] for q in queries]
        per_query_ms = (time.perf_counter() - start) * 1000 / len(queries)
    hits = [len(set(f) & set(t.tolist())) / k for f, t in zip(found, truth, strict=True)]
    return {
        "dtype": dtype,
        "vectors": len(data),
        "recall_at_10": round(float(np.mean(hits)), 4),
        "worst_query_recall": round(float(np.min(hits)), 2),
        "build_s": round(build, 2),
        "query_ms": round(per_query_ms, 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", help=f"default: {DEFAULT_CORPORA}")
    parser.add_argument("--quant", default="q8_0")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    corpora = args.corpus or list(DEFAULT_CORPORA)
    vectors = np.concatenate([corpus_vectors(c, args.quant) for c in corpora])
    rng = np.random.default_rng(0)
    order = rng.permutation(len(vectors))
    queries, data = vectors[order[: args.queries]], vectors[order[args.queries :]]
    sizes = sorted({n for n in (1000, 2500, len(data)) if n <= len(data)})
    rows = [recall(data[:n], queries, dtype) for n in sizes for dtype in ("i8", "f16", "f32")]
    report = {
        "date": datetime.date.today().isoformat(),
        "corpora": corpora,
        "model_quant": args.quant,
        "queries": len(queries),
        "results": rows,
    }
    sys.stdout.write(f"{'vectors':>8} {'dtype':>5} {'recall@10':>10} {'worst':>6} "
                     f"{'build s':>8} {'query ms':>9}\n")
    for r in rows:
        sys.stdout.write(f"{r['vectors']:>8} {r['dtype']:>5} {r['recall_at_10']:>10} "
                         f"{r['worst_query_recall']:>6} {r['build_s']:>8} {r['query_ms']:>9}\n")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
