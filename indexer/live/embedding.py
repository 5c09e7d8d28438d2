"""Background embedding: chunks in the store -> embedding cache -> vector index.

The cache (table `embeddings` in its own file, `embeddings.duckdb`, attached to the store's
connection; keyed by model id and the hash of the exact embedded text)
means identical text is embedded once across files, re-indexes and branch switches. The
vector index is derived: when its recorded generation differs from the store's (a crash, an
edit while the server was down), it is rebuilt from the cache, which costs no model calls,
and only chunks absent from the cache are embedded. Every batch's vectors go to the cache as
soon as they are computed, so an interrupted run (Ctrl-C, a kill) loses at most one batch:
the next run finds the rest in the cache and embeds only what is missing. Chunks are taken
most valuable first (`indexer.live.priority`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from indexer.disk import RepoIndex
from indexer.embed import Embedder, embedded_text
from indexer.live.priority import embedding_order
from indexer.live.state import EmbeddingState
from indexer.vectors import VectorIndex

log = logging.getLogger(__name__)

BATCH = 64
# Texts per model call within a batch: stopping waits for at most one call (8 chunks: well
# under a second on one busy CPU core with MiniLM), and each call still fills a batch per
# thread of the CPU backends.
MODEL_STEP = 8
SAVE_EVERY_S = 30.0
# f16, not i8: on real MiniLM code vectors usearch's i8 recall@10 against exact search was
# 0.969 at 1k vectors, 0.959 at 2.5k and 0.955 at 7k, falling with size below the 0.95
# floor at the sizes users have; f16 stays at 0.999 for twice the memory
# (evals/bench_vectors_recall.py, docs/embeddings.md).
VECTOR_DTYPE = "f16"


def open_vectors(index: RepoIndex, embedder: Embedder,
                 should_stop: Callable[[], bool] = lambda: False) -> VectorIndex:
    """The vector index for `embedder`, rebuilt from the cache when it is behind the store.
    A rebuild stops early when `should_stop()` turns true (the result is then incomplete:
    the caller drops it)."""
    vectors = VectorIndex.open(index.paths.vectors, embedder.dim, VECTOR_DTYPE)
    model_file = index.paths.vectors.with_name("vectors.model")
    # bytes that are not UTF-8 name no model, as other garbage: rebuilt (not a failed tier)
    recorded = model_file.read_text(errors="replace").strip() if model_file.exists() else ""
    if vectors.generation != index.store.generation or recorded != embedder.model_id:
        log.info("vector index is behind the store (gen %s vs %s); rebuilding from the cache",
                 vectors.generation, index.store.generation)
        vectors = VectorIndex(index.paths.vectors, embedder.dim, VECTOR_DTYPE, "cos")
        _fill_from_cache(index, vectors, embedder.model_id, should_stop)
        if should_stop():
            return vectors
        model_file.write_text(embedder.model_id)
    elif len(vectors) < index.store.count_chunks():
        _fill_missing_from_cache(index, vectors, embedder.model_id)
    index.vectors = vectors
    return vectors


def _fill_missing_from_cache(index: RepoIndex, vectors: VectorIndex, model_id: str) -> None:
    """Add the cached vectors of chunks the saved index lacks (a run killed between two
    saves left them in the cache only)."""
    missing = missing_chunks(index, vectors)
    for start in range(0, len(missing), 4096):
        rows = index.store.query(
            "SELECT c.chunk_id, e.vector FROM chunks c JOIN cache.embeddings e ON e.text_hash = "
            "c.text_hash AND e.model_id = ? WHERE list_contains(?, c.chunk_id)",
            [model_id, missing[start:start + 4096]])
        if rows:
            vectors.add(np.array([r[0] for r in rows], dtype=np.uint64),
                        np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows]))


def _fill_from_cache(index: RepoIndex, vectors: VectorIndex, model_id: str,
                     should_stop: Callable[[], bool]) -> None:
    rows = index.store.query(
        "SELECT c.chunk_id, e.vector FROM chunks c JOIN cache.embeddings e "
        "ON e.text_hash = c.text_hash AND e.model_id = ?", [model_id])
    for start in range(0, len(rows), 4096):
        if should_stop():
            return
        part = rows[start:start + 4096]
        keys = np.array([r[0] for r in part], dtype=np.uint64)
        vecs = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in part])
        vectors.add(keys, vecs)


def missing_chunks(index: RepoIndex, vectors: VectorIndex) -> list[int]:
    """Chunk ids without a model vector, in id order."""
    ids = np.array([r[0] for r in index.store.query("SELECT chunk_id FROM chunks ORDER BY 1")],
                   dtype=np.uint64)
    if len(ids) == 0:
        return []
    return [int(i) for i in ids[~vectors.contains_many(ids)]]


def pending_chunks(index: RepoIndex, vectors: VectorIndex, model_id: str) -> list[int]:
    """Chunk ids without a model vector, most valuable first (cached texts before all)."""
    missing = missing_chunks(index, vectors)
    if not missing:
        return []
    cached = {r[0] for r in index.store.query(
        "SELECT text_hash FROM cache.embeddings WHERE model_id = ?", [model_id])}
    return embedding_order(index.store, missing, cached)


def embed_chunks(index: RepoIndex, vectors: VectorIndex, embedder: Embedder,
                 chunk_ids: Sequence[int], lock: threading.Lock | None = None,
                 should_stop: Callable[[], bool] = lambda: False) -> int:
    """Embed `chunk_ids` (cache first); returns how many texts the model embedded (chunks
    with the same text are embedded once). Model calls go
    `MODEL_STEP` texts at a time and stop when `should_stop()` turns true (what was embedded
    is kept; the rest stays without a vector)."""
    if not chunk_ids:
        return 0
    marks = ",".join("?" * len(chunk_ids))
    rows = index.store.query(
        f"SELECT chunk_id, header, text, text_hash FROM chunks WHERE chunk_id IN ({marks})",
        list(chunk_ids))
    cached = index.store.cached_vectors(embedder.model_id, [r[3] for r in rows])
    missing = [r for r in rows if r[3] not in cached]
    by_hash: dict[str, np.ndarray] = {h: np.frombuffer(v, dtype=np.float32)
                                      for h, v in cached.items()}
    unique = list({r[3]: r for r in missing}.values())
    computed = 0
    for start in range(0, len(unique), MODEL_STEP):
        if start and should_stop():
            break
        step = unique[start:start + MODEL_STEP]
        by_hash.update(_embed_rows(index, embedder, step, lock))
        computed += len(step)
    live = [r for r in rows if r[3] in by_hash]
    if live:
        vectors.add(np.array([r[0] for r in live], dtype=np.uint64),
                    np.stack([by_hash[r[3]] for r in live]))
    return computed


def _embed_rows(index: RepoIndex, embedder: Embedder, rows: Sequence[tuple[Any, ...]],
                lock: threading.Lock | None) -> dict[str, np.ndarray]:
    """One model call for `rows` (chunk_id, header, text, text_hash); cached, and returned
    by text hash."""
    texts = [embedded_text(r[1], r[2]) for r in rows]
    if lock is not None:
        with lock:
            vecs = embedder.embed_documents(texts)
    else:
        vecs = embedder.embed_documents(texts)
    vecs = np.asarray(vecs, dtype=np.float32)
    index.store.put_vectors(embedder.model_id,
                            [(r[3], v.tobytes()) for r, v in zip(rows, vecs, strict=True)])
    return {r[3]: v for r, v in zip(rows, vecs, strict=True)}


def embed_pending(index: RepoIndex, vectors: VectorIndex, embedder: Embedder,
                  state: EmbeddingState, should_stop: Callable[[], bool],
                  lock: threading.Lock | None = None) -> None:
    """Embed every chunk without a vector, saving the index now and then; stops between
    batches when `should_stop()` turns true. `state` tells the truth at every step: a
    pass that stops early ends `partial`, never `complete`."""
    todo = pending_chunks(index, vectors, embedder.model_id)
    total = index.store.count_chunks()
    state.state, state.total = "running", total
    state.done, state.started_at = total - len(todo), time.monotonic()
    done_before = state.done_at_start = state.done
    if todo and not should_stop():
        log.info("embedding %d chunks without a vector (%s)", len(todo), embedder.model_id)
    last_save = time.monotonic()
    for start in range(0, len(todo), BATCH):
        if should_stop():
            break
        state.computed += embed_chunks(index, vectors, embedder, todo[start:start + BATCH],
                                       lock, should_stop)
        if should_stop():  # the batch may be cut short: not counted
            break
        state.done = done_before + min(len(todo), start + BATCH)
        # saved after the first batch (a vector file tells a later process, even after a
        # kill, that this index has model vectors: it opens them and fills in from the
        # cache), then every SAVE_EVERY_S
        if start == 0 or time.monotonic() - last_save > SAVE_EVERY_S:
            vectors.save(index.store.generation)
            last_save = time.monotonic()
    if should_stop() and state.done < total:
        log.info("stopping: embedding cut short (%d of %d chunks have vectors)",
                 state.done, total)
    if vectors.dirty or vectors.generation != index.store.generation:
        vectors.save(index.store.generation)
    state.state = "complete" if state.done >= state.total else "partial"


def without_vectors(index: RepoIndex, vectors: VectorIndex, embedder: Embedder,
                    paths: list[str] | None) -> list[int]:
    """The chunks of `paths` (every chunk when None) that have no vector yet."""
    if paths is None:
        return pending_chunks(index, vectors, embedder.model_id)
    wanted = np.asarray(index.store.chunk_ids_for_paths(paths), dtype=np.uint64)
    return [int(i) for i in wanted[~vectors.contains_many(wanted)]]


def embed_new_chunks(index: RepoIndex, vectors: VectorIndex, embedder: Embedder,
                     paths: list[str] | None, lock: threading.Lock | None = None,
                     ids: list[int] | None = None) -> int:
    """Embed the chunks of `paths` (every chunk when None) that have no vector yet, or the
    chunks `ids` (`without_vectors`) when given."""
    if ids is None:
        ids = without_vectors(index, vectors, embedder, paths)
    for start in range(0, len(ids), 256):
        embed_chunks(index, vectors, embedder, ids[start:start + 256], lock)
    return len(ids)
