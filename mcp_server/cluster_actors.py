"""What runs inside Ray workers: shard builds, the embedding service, shard hosts.

Plain classes and functions, free of Ray imports, so this module loads (and is tested)
without Ray; `mcp_server.cluster` turns them into Ray tasks and actors.

- `build_shard`: one standard Sextant index for one repository (a CPU task): discover,
  parse, chunk, store, lexical, graph; then, when an embedding service is given, vectors
  for every chunk through it.
- `EmbedService`: the model tier of a bulk build, one actor (on a GPU where the cluster
  has one). It holds the model and the build's embedding cache: a dict keyed by the hash of
  the exact embedded text, so identical text in any shard is embedded once. Each shard
  still writes what it receives into its own index's cache (DuckDB `embeddings`), which is
  what later refreshes and the server use; the service's dict lives as long as the build.
- `ShardHost`: one opened shard (a `LiveIndex`) answering tool calls for the server.
"""

from __future__ import annotations

import hashlib
import os
import resource
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from indexer.build import IndexOptions, index_repository
from indexer.core import WorkerPool
from indexer.discover import WalkOptions
from indexer.disk import IndexPaths, RepoIndex
from indexer.embed import Embedder, EmbedderFacts, load_embedder
from indexer.live import EmbeddingState, LiveIndex, LiveOptions
from tools.errors import ArgumentError, ToolError


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class EmbedService:
    """The build's model and its shared cache (see the module docstring)."""

    def __init__(self, model: str | None, gpu_layers: int | None = None) -> None:
        self.embedder = load_embedder(model, gpu_layers)
        self.cache: dict[str, np.ndarray] = {}
        self.requested = 0
        self.embedded = 0
        self.seconds = 0.0
        self._lock = threading.Lock()

    def info(self) -> tuple[str, int, int]:
        return self.embedder.model_id, self.embedder.dim, self.embedder.max_tokens

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        keys = [_hash(t) for t in texts]
        with self._lock:
            self.requested += len(texts)
            todo = list({k: t for k, t in zip(keys, texts, strict=True)
                         if k not in self.cache}.items())
            if todo:
                started = time.perf_counter()
                vecs = np.asarray(self.embedder.embed_documents([t for _, t in todo]),
                                  dtype=np.float32)
                self.seconds += time.perf_counter() - started
                self.embedded += len(todo)
                for (k, _), v in zip(todo, vecs, strict=True):
                    self.cache[k] = v
            if not keys:
                return np.zeros((0, self.embedder.dim), dtype=np.float32)
            return np.stack([self.cache[k] for k in keys])

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self.embedder.embed_query(text), dtype=np.float32)

    def stats(self) -> dict[str, float]:
        """Texts asked for, texts the model embedded (unique), model seconds."""
        return {"requested": self.requested, "embedded": self.embedded,
                "model_seconds": round(self.seconds, 3)}


class EmbedCall(Protocol):
    """How a shard reaches the embedding service (a Ray actor handle, or the object)."""

    def info(self) -> tuple[str, int, int]: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class RemoteEmbedder(EmbedderFacts):
    """An `Embedder` whose model is the shared `EmbedService`."""

    def __init__(self, service: EmbedCall) -> None:
        self.service = service
        self._model_id, self._dim, self._max_tokens = service.info()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.service.embed_documents(list(texts))

    def embed_query(self, text: str) -> np.ndarray:
        return self.service.embed_query(text)


def build_shard(name: str, root: str, index_dir: str | None,
                embedder: Embedder | None = None,
                walk: WalkOptions | None = None) -> dict[str, Any]:
    """Build (or refresh) the index of one repository; its measurements as a dict."""
    from indexer.live.embedding import embed_pending, open_vectors

    started = time.perf_counter()
    paths = IndexPaths.for_repo(Path(root), Path(index_dir) if index_dir else None)
    out: dict[str, Any] = {"repo": name, "pid": os.getpid()}
    with RepoIndex(paths) as index:
        index.workers = WorkerPool(1)
        stats = index_repository(index, IndexOptions(walk=walk or WalkOptions(), workers=1))
        out["index_s"] = round(time.perf_counter() - started, 3)
        out.update(files=stats.files, chunks=index.store.count_chunks())
        if embedder is not None:
            t = time.perf_counter()
            vectors = open_vectors(index, embedder)
            embed_pending(index, vectors, embedder, EmbeddingState(), lambda: False)
            out["embed_s"] = round(time.perf_counter() - t, 3)
            out["vectors"] = len(vectors)
    out["seconds"] = round(time.perf_counter() - started, 3)
    out["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["index_bytes"] = _dir_bytes(paths.dir)
    out["vector_bytes"] = paths.vectors.stat().st_size if paths.vectors.exists() else 0
    return out


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class ShardHost:
    """One opened shard: its live index, answering the read tools."""

    def __init__(self, name: str, root: str, index_dir: str | None,
                 options: LiveOptions) -> None:
        from indexer.core import configure_heap

        configure_heap()  # a long-lived worker process, as a server is (indexer/core/heap.py)
        self.name = name
        self.live = LiveIndex.open(Path(root), Path(index_dir) if index_dir else None, options)
        self.live.start()

    def ready(self, timeout_s: float) -> bool:
        return self.live.ready.wait(timeout_s)

    def pid(self) -> int:
        return os.getpid()

    def peak_rss_mb(self) -> float:
        """Peak resident memory of this process (the shard's actor), in MB."""
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    def call(self, tool: str, kwargs: dict[str, Any], wait_fresh: bool = False,
             fresh_paths: list[str] | None = None) -> tuple[str, Any]:
        """("ok", the answer as JSON-ready data), ("invalid", an argument error's message)
        or ("error", another tool error's)."""
        from mcp_server.workspace import run_tool

        try:
            result = run_tool(self.live, tool, kwargs, wait_fresh, fresh_paths)
        except ToolError as exc:
            return ("invalid" if isinstance(exc, ArgumentError) else "error"), str(exc)
        return "ok", result.model_dump(mode="json")

    def close(self) -> None:
        self.live.close()
