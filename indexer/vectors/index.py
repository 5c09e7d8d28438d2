"""Vector index: usearch HNSW (int8 by default, cosine), keyed by chunk id.

The DuckDB store is the source of truth; this index is derived from it and records the store
generation it reflects. `save(generation)` is atomic: the index is serialized to a temp file
in the same directory, fsynced, `os.replace`d over the old one and the directory fsynced; then
a JSON sidecar (`<name>.meta.json`, same procedure) records the generation together with the
index file's size and BLAKE2b digest. On open, a missing or unreadable index, a missing
sidecar, or a sidecar that does not describe the file on disk (a crash between the two
renames) all give an empty index with `generation == -1`, which tells the store to rebuild.

A saved index is searched from its file, memory-mapped (usearch's view of the mapping), not
copied into the process: its pages are the page cache's, and `release_pages` takes those the
searches read out of the process again (moby's model tier: 35 MB of f16 vectors and graph that
a loaded index held as private memory for the server's whole life). The first add or remove
after a load or save copies the index into memory (an immutable view cannot change) until the
next save, which maps the written file again. The mapping is of the file a save renamed into
place; saves never write into a mapped file, they replace it.

Concurrency: any number of threads may search while one thread writes; writers (add, remove,
save, release_pages) take the lock exclusively.

Exceptions:
    VectorIndexError    bad input (wrong dimension, mismatched key and vector counts)
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
from pathlib import Path
from typing import Any

import numpy as np

from indexer.core import RWLock, atomic_write_bytes, release_mapping
from indexer.core.arrays import distinct

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
EXACT_FILTER_LIMIT = 4096  # filters at most this large are scored exactly
# Below this many vectors a search scans them all (usearch's exact mode, ~1 ms at the limit):
# the true neighbours, and the same answer every time, where the HNSW graph's answer depends
# on the order and threads its vectors were added with.
EXACT_BELOW = 16384
_OVERSAMPLE = 8


class VectorIndexError(Exception):
    """Invalid input to the vector index."""


def digest(data: bytes | bytearray | mmap.mmap) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def as_keys(keys: Any) -> np.ndarray:
    return np.ascontiguousarray(np.atleast_1d(np.asarray(keys)), dtype=np.uint64)


class Stamped:
    """A derived index saved beside a sidecar that records the store generation it reflects."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._generation = -1
        self._dirty = False  # changed since it was loaded or saved
        self._lock = RWLock()

    @property
    def meta_path(self) -> Path:
        return self.path.with_name(self.path.name + ".meta.json")

    @property
    def generation(self) -> int:
        """Store generation the saved (or loaded) index reflects; -1 when unknown."""
        return self._generation

    @property
    def dirty(self) -> bool:
        """True when vectors were added or removed since the last load or save."""
        return self._dirty


class VectorIndex(Stamped):
    """A usearch index with atomic, generation-stamped saves. Scores: cosine similarity."""

    def __init__(self, path: Path, dim: int, dtype: str, metric: str) -> None:
        super().__init__(path)
        self.dim = dim
        self.dtype = dtype
        self.metric = metric
        self._index = self._new_index()
        self._map: mmap.mmap | None = None  # the saved file the index views, when it does

    def _new_index(self) -> Any:  # usearch's Index (its stubs take no mmap)
        from usearch.index import Index  # here: the flat vectors share this module without it

        return Index(ndim=self.dim, metric=self.metric, dtype=self.dtype)

    @classmethod
    def open(
        cls, path: Path, dim: int, dtype: str = "i8", metric: str = "cos"
    ) -> VectorIndex:
        """Load `path` if it is intact and matches `dim`/`dtype`/`metric`, else start empty."""
        index = cls(Path(path), dim, dtype, metric)
        index._load()
        return index

    def _load(self) -> None:
        meta = self._read_meta()
        if meta is None:
            return
        try:
            mapped = _map_file(self.path)
        except (OSError, ValueError) as exc:
            log.warning("vector index %s unreadable (%s); starting empty", self.path, exc)
            return
        if len(mapped) != meta.get("size") or digest(mapped) != meta.get("digest"):
            mapped.close()
            log.warning("vector index %s does not match its sidecar; starting empty", self.path)
            return
        if not self._view(mapped):
            log.warning("vector index %s is corrupt; starting empty", self.path)
            return
        release_mapping(mapped)  # the digest read every page
        self._generation = int(meta["generation"])

    def _view(self, mapped: mmap.mmap) -> bool:
        """Search the index the mapped file holds from now on (closing `mapped` and keeping
        the current index where usearch cannot read it)."""
        viewed = self._new_index()
        try:
            viewed.view(mapped)
        except (RuntimeError, ValueError) as exc:
            log.debug("usearch could not view %s: %s", self.path, exc)
            viewed.reset()
            mapped.close()
            return False
        self._drop()
        self._index, self._map = viewed, mapped
        return True

    def _drop(self) -> None:
        """Free the current index; usearch holds a raw pointer into a viewed mapping, so
        the view goes first, then the mapping."""
        self._index.reset()
        if self._map is not None:
            self._map.close()
            self._map = None

    def _thaw(self) -> None:
        """Before a change: a viewed index is copied into memory (a view is immutable)."""
        if self._map is None:
            return
        loaded = self._new_index()
        loaded.load(self._map)
        self._drop()
        self._index = loaded

    @property
    def mapped(self) -> bool:
        """True while the index is searched from its saved file (not changed since)."""
        return self._map is not None

    def release_pages(self) -> bool:
        """Take the mapped file's pages out of this process: the searches read the graph
        and vectors wherever their walks led (20 searches: 33 of moby's 35 MB), and those
        pages stay counted in the process's memory after the searches stop. They are the
        file's, clean, so `MADV_DONTNEED` only unmaps them (they stay in the page cache);
        the next search maps them again. False, and nothing done, while the index is in
        memory (changed since its last load or save)."""
        with self._lock.write():
            return self._map is not None and release_mapping(self._map)

    def _read_meta(self) -> dict[str, Any] | None:
        try:
            meta = json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            return None
        expected = {
            "format": FORMAT_VERSION,
            "dim": self.dim,
            "dtype": self.dtype,
            "metric": self.metric,
        }
        if not isinstance(meta, dict) or any(meta.get(k) != v for k, v in expected.items()):
            log.info("vector index %s has another format or shape; starting empty", self.path)
            return None
        if not isinstance(meta.get("generation"), int):
            return None
        return meta

    def __len__(self) -> int:
        with self._lock.read():
            return len(self._index)

    def keys(self) -> np.ndarray:
        """Every key in the index (uint64, unordered)."""
        with self._lock.read():
            if len(self._index) == 0:
                return np.zeros(0, dtype=np.uint64)
            return np.asarray(self._index.keys, dtype=np.uint64)

    def contains_many(self, keys: Any) -> np.ndarray:
        """A bool per key of `keys`: whether the index holds it."""
        keys_arr = as_keys(keys)
        if len(keys_arr) == 0:
            return np.zeros(0, dtype=bool)
        with self._lock.read():
            return np.asarray(self._index.contains(keys_arr), dtype=bool)

    def vectors_of(self, keys: Any) -> np.ndarray:
        """The stored vectors of `keys` (all present), (n, dim) float32."""
        keys_arr = as_keys(keys)
        if len(keys_arr) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock.read():
            return np.asarray(self._index.get(keys_arr, dtype=np.float32),
                              dtype=np.float32).reshape(len(keys_arr), self.dim)

    def contains(self, key: int) -> bool:
        with self._lock.read():
            return bool(self._index.contains(int(key)))

    def add(self, keys: Any, vectors: Any) -> None:
        """Insert or replace `vectors` (n, dim) under `keys` (n,)."""
        keys_arr = as_keys(keys)
        vecs = np.ascontiguousarray(np.atleast_2d(np.asarray(vectors, dtype=np.float32)))
        if vecs.shape != (len(keys_arr), self.dim):
            raise VectorIndexError(
                f"expected vectors of shape ({len(keys_arr)}, {self.dim}), got {vecs.shape}"
            )
        if len(distinct(keys_arr)) != len(keys_arr):
            raise VectorIndexError("duplicate keys in one add() call")
        if len(keys_arr) == 0:
            return
        with self._lock.write():
            self._thaw()
            present = np.asarray(self._index.contains(keys_arr), dtype=bool)
            if present.any():
                self._index.remove(keys_arr[present])
            self._index.add(keys_arr, vecs)
            self._dirty = True

    def remove(self, keys: Any) -> int:
        """Remove `keys` (absent keys are ignored); returns how many were removed."""
        keys_arr = as_keys(keys)
        if len(keys_arr) == 0:
            return 0
        with self._lock.write():
            present = keys_arr[np.asarray(self._index.contains(keys_arr), dtype=bool)]
            if len(present):
                self._thaw()
                self._index.remove(present)
                self._dirty = True
            return len(present)

    def search(
        self, vector: Any, k: int, filter_keys: Any | None = None
    ) -> list[tuple[int, float]]:
        """Top-`k` (key, cosine similarity) pairs, best first, optionally within `filter_keys`."""
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape != (self.dim,):
            raise VectorIndexError(f"expected a query of dimension {self.dim}, got {query.shape}")
        if k <= 0:
            return []
        with self._lock.read():
            if filter_keys is None:
                return self._search_ann(query, k, None)
            allowed = as_keys(filter_keys)
            if len(allowed) <= EXACT_FILTER_LIMIT:
                return self._search_exact(query, k, allowed)
            return self._search_ann(query, k, set(allowed.tolist()))

    def _search_ann(
        self, query: np.ndarray, k: int, allowed: set[int] | None
    ) -> list[tuple[int, float]]:
        size = len(self._index)
        count = min(size, k if allowed is None else k * _OVERSAMPLE)
        exact = size < EXACT_BELOW
        while count > 0:
            matches = self._index.search(query, count, exact=exact, threads=1)  # see flat.py
            hits = [
                (int(key), 1.0 - float(dist))
                for key, dist in zip(matches.keys, matches.distances, strict=True)
                if allowed is None or int(key) in allowed
            ]
            if len(hits) >= k or count >= size:
                return hits[:k]
            count = min(size, count * 4)
        return []

    def _search_exact(
        self, query: np.ndarray, k: int, allowed: np.ndarray
    ) -> list[tuple[int, float]]:
        present = allowed[np.asarray(self._index.contains(allowed), dtype=bool)]
        if len(present) == 0:
            return []
        got = self._index.get(present, dtype=np.float32)
        stored = np.asarray(got, dtype=np.float32)
        norms = np.linalg.norm(stored, axis=1) * max(float(np.linalg.norm(query)), 1e-12)
        scores = (stored @ query) / np.maximum(norms, 1e-12)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(present[i]), float(scores[i])) for i in order]

    def save(self, generation: int) -> None:
        """Atomically persist the index, then record `generation` in the sidecar; the index
        is then searched from the written file, mapped (the memory of a copy goes)."""
        with self._lock.write():
            data = self._index.save()
            if data is None:
                raise VectorIndexError("usearch returned no buffer from save()")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, data)
            meta = {
                "format": FORMAT_VERSION,
                "generation": generation,
                "dim": self.dim,
                "dtype": self.dtype,
                "metric": self.metric,
                "count": len(self._index),
                "size": len(data),
                "digest": digest(data),
            }
            atomic_write_bytes(self.meta_path, json.dumps(meta, indent=2).encode())
            self._generation = generation
            self._dirty = False
            self._map_saved(len(data))

    def _map_saved(self, size: int) -> None:
        """Search the file just written instead of the copy in memory (kept where the file
        cannot be mapped and viewed)."""
        try:
            mapped = _map_file(self.path)
        except (OSError, ValueError) as exc:
            log.debug("could not map %s again: %s", self.path, exc)
            return
        if len(mapped) != size:
            mapped.close()
            return
        self._view(mapped)


def _map_file(path: Path) -> mmap.mmap:
    """`path` memory-mapped read-only (ValueError for an empty file)."""
    with open(path, "rb") as handle:
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
