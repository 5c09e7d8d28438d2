"""Baselines computed in the same run as Sextant, over the same index and tree.

- `bm25-files` / `bm25-functions`: a plain Okapi BM25 (k1=1.2, b=0.75, `indexer.lexical.memory`), with a
  default tokenizer (lower-cased `\\w+` runs: no identifier splitting, no field boosts), over
  whole files or over function/method bodies (units taken from the store's symbols).
  `bm25-functions-ident` is the same over function bodies with Sextant's identifier-aware
  tokens (`create_url_adapter` -> create, url, adapter, createurladapter): a stronger
  baseline that separates what tokenization buys from what ranking buys.
- `dense`: nearest chunks by embedding alone (the index's usearch vectors).
- `rrf`: Sextant's two retrievers (tantivy BM25 over chunks, dense) fused by plain,
  unweighted reciprocal rank (k=60): no symbol matches, no path priors, no de-duplication.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from indexer.disk import RepoIndex
from indexer.lexical import identifier_tokens
from indexer.lexical.memory import MemoryBM25
from indexer.live import LiveIndex
from tools.retrieval_metrics import Span

_TOKEN = re.compile(r"\w+")
FUNCTION_KINDS = ("function", "method")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class UnitIndex:
    """BM25 over retrieval units (whole files or functions), each a Span."""

    def __init__(self, units: list[Span], texts: list[str],
                 tokens: Callable[[str], list[str]] = tokenize) -> None:
        self.units = units
        self.tokens = tokens
        self.bm25 = MemoryBM25([tokens(t) for t in texts])

    def search(self, query: str, k: int) -> list[Span]:
        return [self.units[i] for i in self.bm25.top(self.tokens(query), k)]


def _file_rows(index: RepoIndex) -> list[tuple[str, int]]:
    return [(r[0], r[1] or 0) for r in index.store.query(
        "SELECT path, lines FROM files WHERE language IS NOT NULL ORDER BY path")]


def file_units(index: RepoIndex) -> UnitIndex:
    units, texts = [], []
    for path, lines in _file_rows(index):
        text = _read(index.root / path)
        units.append(Span(path, 1, max(1, lines)))
        texts.append(text)
    return UnitIndex(units, texts)


def function_units(index: RepoIndex, identifiers: bool = False) -> UnitIndex:
    rows = index.store.query(
        f"""SELECT f.path, s.start_line, s.end_line FROM symbols s JOIN files f USING (file_id)
            WHERE s.kind IN ({",".join("?" * len(FUNCTION_KINDS))})
            ORDER BY f.path, s.start_line""", list(FUNCTION_KINDS))
    units, texts, cache = [], [], {}
    for path, start, end in rows:
        if path not in cache:
            cache[path] = _read(index.root / path).splitlines()
        units.append(Span(path, start, end))
        texts.append("\n".join(cache[path][start - 1:end]))
    return UnitIndex(units, texts, identifier_tokens if identifiers else tokenize)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def chunk_spans(ctx: LiveIndex, ids: Sequence[int]) -> list[Span]:
    if not ids:
        return []
    rows = ctx.index.store.query(
        f"""SELECT c.chunk_id, f.path, c.start_line, c.end_line FROM chunks c
            JOIN files f USING (file_id) WHERE c.chunk_id IN ({",".join("?" * len(ids))})""",
        list(ids))
    by_id = {r[0]: Span(r[1], r[2], r[3]) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def dense_ids(ctx: LiveIndex, query: str, k: int) -> list[int]:
    if ctx.vectors is None or ctx.embedder is None or len(ctx.vectors) == 0:
        return []
    vec = ctx.embedder.embed_query(query)
    return [key for key, _ in ctx.vectors.search(vec, k)]


def dense(ctx: LiveIndex, query: str, k: int) -> list[Span]:
    return chunk_spans(ctx, dense_ids(ctx, query, k))


def plain_rrf(ctx: LiveIndex, query: str, k: int, rrf_k: int = 60) -> list[Span]:
    lists = [[cid for cid, _ in ctx.index.lexical.search(query, 100)], dense_ids(ctx, query, 100)]
    scores: dict[int, float] = defaultdict(float)
    for ranked in lists:
        for rank, cid in enumerate(ranked):
            scores[cid] += 1.0 / (rrf_k + rank + 1)
    best = sorted(scores, key=lambda c: (-scores[c], c))[:k]
    return chunk_spans(ctx, best)
