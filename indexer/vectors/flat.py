"""A flat vector index: every vector in one f16 matrix, searched exactly (usearch's SIMD
brute force), keyed by chunk id.

For the static tier, whose vectors are written while a repository is indexed: adding a
vector is a copy, where an HNSW graph pays a graph search per insert (usearch: minutes for
moby's 38k 256-d vectors on 2 busy cores, against seconds for the rest of the build). A
query scans every vector: ~10 ms per 40k (256-d, f16) on one core, linear in the count.

Saved atomically like `VectorIndex` (temp file, fsync, rename; then a JSON sidecar with the
generation, size and digest); a file its sidecar does not describe opens empty with
generation -1. Thread-safety: any number of readers or one writer (the same lock).
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from usearch.index import search as exact_search

from indexer.core import atomic_write_bytes
from indexer.vectors.index import Stamped, VectorIndexError, as_keys, digest

log = logging.getLogger(__name__)

FLAT_FORMAT = 1


class FlatVectors(Stamped):
    """Keys and f16 vectors in growable arrays; removal swaps the last row in."""

    def __init__(self, path: Path, dim: int) -> None:
        super().__init__(path)
        self.dim = dim
        self._keys = np.zeros(0, dtype=np.uint64)
        self._vecs = np.zeros((0, dim), dtype=np.float16)
        self._size = 0
        self._row: dict[int, int] = {}

    @classmethod
    def open(cls, path: Path, dim: int) -> FlatVectors:
        index = cls(Path(path), dim)
        index._load()
        return index

    def _load(self) -> None:
        try:
            meta = json.loads(self.meta_path.read_text())
            data = self.path.read_bytes()
        except (OSError, ValueError):
            return
        if (not isinstance(meta, dict) or meta.get("format") != FLAT_FORMAT
                or meta.get("dim") != self.dim or meta.get("size") != len(data)
                or meta.get("digest") != digest(data)):
            log.info("flat vectors %s missing or not as recorded; starting empty", self.path)
            return
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            keys, vecs = arrays["keys"], arrays["vectors"]
        self._keys, self._vecs, self._size = keys.astype(np.uint64), vecs, len(keys)
        self._row = {int(k): i for i, k in enumerate(keys.tolist())}
        self._generation = int(meta["generation"])

    def __len__(self) -> int:
        return self._size

    def keys(self) -> np.ndarray:
        with self._lock.read():
            return self._keys[:self._size].copy()

    def contains_many(self, keys: Any) -> np.ndarray:
        with self._lock.read():
            return np.array([int(k) in self._row for k in as_keys(keys)], dtype=bool)

    def add(self, keys: Any, vectors: Any) -> None:
        """Insert or replace `vectors` (n, dim) under `keys` (n,)."""
        keys_arr = as_keys(keys)
        vecs = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if vecs.shape != (len(keys_arr), self.dim):
            raise VectorIndexError(
                f"expected vectors of shape ({len(keys_arr)}, {self.dim}), got {vecs.shape}")
        if len(keys_arr) == 0:
            return
        with self._lock.write():
            self._remove([k for k in keys_arr.tolist() if k in self._row])
            self._reserve(self._size + len(keys_arr))
            end = self._size + len(keys_arr)
            self._keys[self._size:end] = keys_arr
            self._vecs[self._size:end] = vecs
            for offset, key in enumerate(keys_arr.tolist()):
                self._row[key] = self._size + offset
            self._size = end
            self._dirty = True

    def _reserve(self, size: int) -> None:
        if size <= len(self._keys):
            return
        capacity = max(size, 2 * len(self._keys), 1024)
        keys = np.zeros(capacity, dtype=np.uint64)
        vecs = np.zeros((capacity, self.dim), dtype=np.float16)
        keys[:self._size] = self._keys[:self._size]
        vecs[:self._size] = self._vecs[:self._size]
        self._keys, self._vecs = keys, vecs

    def remove(self, keys: Any) -> int:
        with self._lock.write():
            return self._remove([k for k in as_keys(keys).tolist() if k in self._row])

    def _remove(self, keys: list[int]) -> int:
        for key in keys:
            row = self._row.pop(key)
            last = self._size - 1
            if row != last:
                moved = int(self._keys[last])
                self._keys[row] = moved
                self._vecs[row] = self._vecs[last]
                self._row[moved] = row
            self._size = last
        if keys:
            self._dirty = True
        return len(keys)

    def search(self, vector: Any, k: int) -> list[tuple[int, float]]:
        """Top-`k` (key, cosine similarity), best first: an exact scan."""
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape != (self.dim,):
            raise VectorIndexError(f"expected a query of dimension {self.dim}, got {query.shape}")
        with self._lock.read():
            if self._size == 0 or k <= 0:
                return []
            found = exact_search(self._vecs[:self._size], query.astype(np.float16),
                                 min(k, self._size), "cos", exact=True)
            return [(int(self._keys[int(row)]), 1.0 - float(dist))
                    for row, dist in zip(found.keys, found.distances, strict=True)]

    def save(self, generation: int) -> None:
        with self._lock.write():
            buffer = io.BytesIO()
            np.savez(buffer, keys=self._keys[:self._size], vectors=self._vecs[:self._size])
            data = buffer.getvalue()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, data)
            meta = {"format": FLAT_FORMAT, "generation": generation, "dim": self.dim,
                    "count": self._size, "size": len(data), "digest": digest(data)}
            atomic_write_bytes(self.meta_path, json.dumps(meta, indent=2).encode())
            self._generation = generation
            self._dirty = False
