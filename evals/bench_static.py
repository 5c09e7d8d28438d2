"""The static tier against the transformer it is distilled from.

    python -m evals.bench_static [--corpus flask] [--chunks 300] [--out bench.json]

On real code (the corpus's Python functions and methods, cut out with `ast`):

- distillation time of the default model's table (into a temp cache, so always fresh);
- static embedding throughput (chunks/s, whole corpus, one `embed_documents` call) and
  single-chunk latency;
- neighbour agreement: for `--chunks` chunks, the mean overlap of each chunk's top-10
  neighbours by static vectors with its top-10 by the model's vectors, and the same for a
  random ranking (the baseline, expected 10 / (n - 1));
- docstring -> function retrieval: the first sentence of each documented function's
  docstring as the query, every function with its docstring removed as the corpus; MRR@10
  by static vectors and by the model's;
- the same two quality numbers without the recipe's fit to the model's vectors
  (`static_unfitted`), and for recipe variants (weighting, dimensions; unfitted), from one
  run of the model over the vocabulary.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evals.sets.docstrings import first_sentence

REPO = Path(__file__).resolve().parent.parent
CORPORA = Path(os.environ.get("SEXTANT_SHARED_DIR", REPO.parent / "shared")) / "corpora"
MIN_LINES = 3


@dataclass(frozen=True)
class Function:
    """A function or method: its text as a chunk (path and qualname header, source), the
    same without its docstring, and its docstring's first sentence ('' when none)."""

    path: str
    qualname: str
    text: str
    stripped: str
    query: str


def extract(name: str, dest: Path) -> Path:
    archives = sorted(CORPORA.glob(f"{name}-*.tar.gz"))
    if not archives:
        raise SystemExit(f"corpus {name!r} not found under {CORPORA}")
    with tarfile.open(archives[0]) as tar:
        tar.extractall(dest, filter="data")
    entries = [p for p in dest.iterdir() if p.is_dir()]
    return entries[0] if len(entries) == 1 else dest


def _without_docstring(lines: list[str], node: ast.AST) -> str:
    body = getattr(node, "body", [])
    decorators = getattr(node, "decorator_list", [])
    start = (decorators[0].lineno if decorators else node.lineno) - 1
    end = node.end_lineno or node.lineno
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        doc = body[0]
        kept = lines[start : doc.lineno - 1] + lines[doc.end_lineno : end]
        return "".join(kept)
    return "".join(lines[start:end])


def python_functions(root: Path) -> list[Function]:
    """Functions and methods of every .py file under `root`, in path and line order."""
    out: list[Function] = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        lines = source.splitlines(keepends=True)
        rel = path.relative_to(root).as_posix()
        out.extend(_functions_in(tree, lines, rel, ""))
    return out


def _functions_in(node: ast.AST, lines: list[str], rel: str, scope: str) -> list[Function]:
    found: list[Function] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef):
            found.extend(_functions_in(child, lines, rel, f"{scope}{child.name}."))
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            span = (child.end_lineno or child.lineno) - child.lineno + 1
            if span < MIN_LINES:
                continue
            qualname = scope + child.name
            start = child.decorator_list[0].lineno if child.decorator_list else child.lineno
            body = "".join(lines[start - 1 : child.end_lineno])
            header = f"# {rel}: {qualname}\n"
            doc = ast.get_docstring(child)
            found.append(
                Function(
                    rel,
                    qualname,
                    header + body,
                    header + _without_docstring(lines, child),
                    first_sentence(doc) if doc else "",
                )
            )
    return found


def top_k(vectors: np.ndarray, k: int) -> np.ndarray:
    """Each row's k nearest other rows by cosine (rows are unit length)."""
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def neighbour_agreement(a: np.ndarray, b: np.ndarray, k: int = 10) -> float:
    """Mean fraction of each row's top-k neighbours under `a` that are also top-k under `b`."""
    na, nb = top_k(a, k), top_k(b, k)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(na.tolist(), nb.tolist())]))


def random_agreement(b: np.ndarray, k: int = 10, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    return neighbour_agreement(rng.standard_normal((len(b), 64)), b, k)


def mrr_at_10(queries: np.ndarray, docs: np.ndarray, gold: Sequence[int]) -> float:
    scores = queries @ docs.T
    total = 0.0
    for row, target in zip(scores, gold):
        ranked = np.argsort(-row, kind="stable")[:10].tolist()
        total += 1.0 / (ranked.index(target) + 1) if target in ranked else 0.0
    return total / len(gold)


def quality(
    embed_docs: Any,
    fixture: list[Function],
    functions: list[Function],
    model: dict[str, np.ndarray],
) -> dict[str, float]:
    static_fixture = embed_docs([f.text for f in fixture])
    gold = [i for i, f in enumerate(functions) if f.query]
    docs = embed_docs([f.stripped for f in functions])
    queries = embed_docs([functions[i].query for i in gold])
    return {
        "agreement@10": neighbour_agreement(static_fixture, model["fixture"]),
        "mrr@10": mrr_at_10(queries, docs, gold),
    }


def run(corpus: str, chunks: int) -> dict[str, Any]:
    from indexer.embed import load_embedder
    from indexer.embed.convert import provision_default_model
    from indexer.embed.distil import (
        Recipe,
        build_table,
        encode_tokens,
        open_token_encoder,
    )
    from indexer.embed.static import StaticEmbedder, load_static_embedder

    model_path = provision_default_model()
    with tempfile.TemporaryDirectory(prefix="sextant-static-") as tmp:
        functions = python_functions(extract(corpus, Path(tmp) / "src"))
        fixture = functions[:chunks]
        started = time.perf_counter()
        static = load_static_embedder(model_path, cache_root=Path(tmp) / "cache")
        distil_s = time.perf_counter() - started
        started = time.perf_counter()
        load_static_embedder(model_path, cache_root=Path(tmp) / "cache")
        load_s = time.perf_counter() - started
        unfitted = load_static_embedder(model_path, cache_root=Path(tmp) / "cache",
                                        recipe=Recipe(fit=0))
    texts = [f.text for f in functions]
    static.embed_documents(texts[:8])
    started = time.perf_counter()
    static.embed_documents(texts)
    bulk_s = time.perf_counter() - started
    singles = []
    for text in texts[:200]:
        t0 = time.perf_counter()
        static.embed_documents([text])
        singles.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    tokens = sum(len(static.tokenize(t)) for t in texts)
    tokenize_s = time.perf_counter() - t0

    embedder = load_embedder(model_path, gpu_layers=0)
    gold = [i for i, f in enumerate(functions) if f.query]
    model = {"fixture": embedder.embed_documents([f.text for f in fixture])}
    model_quality = {
        "mrr@10": mrr_at_10(
            embedder.embed_documents([functions[i].query for i in gold]),
            embedder.embed_documents([f.stripped for f in functions]),
            gold,
        ),
    }

    variants: dict[str, dict[str, float]] = {}
    vocab = static._vocab
    ids = vocab.distillable()
    encoder = open_token_encoder(model_path, 0)
    vectors = encode_tokens(vocab, encoder, ids)
    encoder.close()
    for recipe in (
        Recipe(fit=0),
        Recipe(weighting="zipf", fit=0),
        Recipe(weighting="none", fit=0),
        Recipe(dims=384, fit=0),
        Recipe(dims=128, fit=0),
        Recipe(weighting="sif", sif_a=1e-3, fit=0),
        Recipe(weighting="sif", sif_a=1e-5, fit=0),
    ):
        table = build_table(vocab.size, ids, vectors, recipe)
        for max_tokens in (256, 512):
            variant = StaticEmbedder(table, vocab, "variant", max_tokens=max_tokens)
            name = f"{recipe.key} max_tokens={max_tokens}"
            variants[name] = quality(variant.embed_documents, fixture, functions, model)
    return {
        "corpus": corpus,
        "functions": len(functions),
        "fixture_chunks": len(fixture),
        "queries": len(gold),
        "distil_seconds": round(distil_s, 2),
        "cached_load_seconds": round(load_s, 3),
        "static_chunks_per_s": round(len(texts) / bulk_s, 1),
        "static_single_chunk_ms_median": round(1000 * float(np.median(singles)), 3),
        "tokenize_share": round(tokenize_s / bulk_s, 2),
        "mean_tokens_per_chunk": round(tokens / len(texts), 1),
        "random_agreement@10": random_agreement(model["fixture"]),
        "model": model_quality,
        "static_default": quality(static.embed_documents, fixture, functions, model),
        "static_unfitted": quality(unfitted.embed_documents, fixture, functions, model),
        "variants": variants,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="flask")
    parser.add_argument("--chunks", type=int, default=300)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = run(args.corpus, args.chunks)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
