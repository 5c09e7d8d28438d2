"""A flat vector index: every vector in one f16 matrix, searched exactly, keyed by chunk id.

For the static tier, whose vectors are written while a repository is indexed: adding a
vector is a copy, where an HNSW graph pays a graph search per insert (usearch: minutes for
moby's 38k 256-d vectors on 2 busy cores, against seconds for the rest of the build). A
query scans every vector, linear in the count, with numkong's f16 kernels (f32 sums, the
GIL released once for the whole scan; usearch's own dependency): 38k 256-d vectors in
~1.4 ms on one core. usearch's brute force took 4 ms alone, and gave the GIL back and took
it again hundreds of times a scan, so beside a thread running Python (a tool call, the
watcher's batch) one scan took over a second (docs/benchmarks.md). The hits are ordered by
similarity, then by row.

Saved atomically like `VectorIndex` (temp file, fsync, rename; then a JSON sidecar with the
generation, size and digest); a file its sidecar does not describe opens empty with
generation -1. Thread-safety: any number of readers or one writer (the same lock).
"""

from __future__ import annotations

import io
import json
import logging
import mmap
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from indexer.core import atomic_write_bytes, release_mapped_array
from indexer.core.arrays import find_sorted
from indexer.vectors.index import Stamped, VectorIndexError, as_keys, digest

log = logging.getLogger(__name__)

FLAT_FORMAT = 1


_ALIGN = 64
_PAD_FIELD = 0x5058  # an unregistered zip extra-field id ("XP"): readers skip it


def _aligned_npz(**arrays: np.ndarray) -> bytes:
    """An uncompressed .npz (readable by `np.load`) whose arrays start at multiples of 64
    bytes: a local header's extra field pads each member so its .npy starts aligned (the
    .npy header pads itself to 64), so `_mapped_member` maps them as aligned arrays."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            start = buffer.tell() + 30 + len(info.filename) + 4
            info.extra = struct.pack("<HH", _PAD_FIELD, -start % _ALIGN) + bytes(-start % _ALIGN)
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def _mapped_member(path: Path, name: str) -> np.ndarray:
    """Array `name` of the uncompressed .npz at `path`, memory-mapped copy-on-write: its
    pages are read from the file as they are used and stay shared with the page cache;
    the index's in-place edits (removal moves the last row in) stay private."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(f"{name}.npy")
    if info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(f"{name} is compressed")
    with path.open("rb") as handle:
        handle.seek(info.header_offset)
        local = handle.read(30)  # the local file header: name and extra lengths at 26
        name_len, extra_len = struct.unpack_from("<HH", local, 26)
        handle.seek(info.header_offset + 30 + name_len + extra_len)
        version = np.lib.format.read_magic(handle)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(handle)
        offset = handle.tell()
    if fortran or dtype.hasobject or not dtype.isnative or offset % dtype.alignment:
        raise ValueError(f"{name} is not an aligned native C-order array")
    dtype = np.dtype(dtype.char)  # '<f2' -> 'e': usearch matches buffer formats exactly
    if not shape or 0 in shape:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="c", offset=offset, shape=shape)


def exact_scan(vecs: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows of the `k` vectors of `vecs` (f16, at least one) nearest to `query` by
    cosine (the query as f16), and their similarities, best first, ties by row: rows as
    near as the k-th are all candidates, so which of equal rows make the cut is the
    lowest rows, whatever the partition's order."""
    import numkong

    q = np.ascontiguousarray(query, dtype=np.float16).reshape(1, -1)
    dist = np.asarray(numkong.cdist(q, vecs, metric="angular")).reshape(-1)  # 1 - cosine
    if k < len(dist):
        kth = dist[np.argpartition(dist, k - 1)[:k]].max()
        top = np.flatnonzero(dist <= kth)
    else:
        top = np.arange(len(dist))
    top = top[np.lexsort((top, dist[top]))][:k]
    return top, (1.0 - dist[top]).astype(np.float32)


class FlatVectors(Stamped):
    """Keys and f16 vectors in growable arrays; removal swaps the last row in."""

    def __init__(self, path: Path, dim: int) -> None:
        super().__init__(path)
        self.dim = dim
        self._keys = np.zeros(0, dtype=np.uint64)
        self._vecs = np.zeros((0, dim), dtype=np.float16)
        self._size = 0
        # the keys sorted, and each one's row: a key's row by binary search (moby's static
        # tier: 0.6 MB, where a dict of Python ints took 3.5 MB of a serving process)
        self._sorted = np.zeros(0, dtype=np.uint64)
        self._rows = np.zeros(0, dtype=np.int64)
        self._saved: tuple[int, str] | None = None  # (size, digest) of the file as last saved

    @classmethod
    def open(cls, path: Path, dim: int) -> FlatVectors:
        index = cls(Path(path), dim)
        index._load()
        return index

    def _load(self) -> None:
        try:
            meta = json.loads(self.meta_path.read_text())
            with self.path.open("rb") as handle:
                data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return
        with data:
            if (not isinstance(meta, dict) or meta.get("format") != FLAT_FORMAT
                    or meta.get("dim") != self.dim or meta.get("size") != len(data)
                    or meta.get("digest") != digest(data)):
                log.info("flat vectors %s missing or not as recorded; starting empty", self.path)
                return
        try:
            keys, vecs = self._mapped()
        except (OSError, ValueError, KeyError):  # e.g. written unaligned by an older version
            with np.load(self.path, allow_pickle=False) as arrays:
                keys, vecs = arrays["keys"], arrays["vectors"]
        self._keys, self._vecs, self._size = keys, vecs, len(keys)
        self._index_keys(np.asarray(keys))
        self._generation = int(meta["generation"])
        self._saved = (int(meta["size"]), str(meta["digest"]))

    def __len__(self) -> int:
        return self._size

    def _index_keys(self, keys: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        self._sorted = np.ascontiguousarray(keys[order], dtype=np.uint64)
        self._rows = order.astype(np.int64)

    def _find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of `keys` (-1 for a key not held) and their places in `_sorted`."""
        at, found = find_sorted(self._sorted, keys)
        rows = np.full(len(keys), -1, dtype=np.int64)
        rows[found] = self._rows[at[found]]
        return rows, at

    def _held(self, keys: np.ndarray) -> list[int]:
        """The keys of `keys` that are held, each once, in their order."""
        return list(dict.fromkeys(keys[find_sorted(self._sorted, keys)[1]].tolist()))

    def keys(self) -> np.ndarray:
        with self._lock.read():
            return self._keys[:self._size].copy()

    def contains_many(self, keys: Any) -> np.ndarray:
        with self._lock.read():
            return find_sorted(self._sorted, as_keys(keys))[1]

    def add(self, keys: Any, vectors: Any) -> None:
        """Insert or replace `vectors` (n, dim) under `keys` (n,)."""
        keys_arr = as_keys(keys)
        vecs = np.atleast_2d(np.asarray(vectors))
        if vecs.dtype != np.float16:  # f16 rows are stored as they are
            vecs = vecs.astype(np.float32, copy=False)
        if vecs.shape != (len(keys_arr), self.dim):
            raise VectorIndexError(
                f"expected vectors of shape ({len(keys_arr)}, {self.dim}), got {vecs.shape}")
        if len(keys_arr) == 0:
            return
        last = dict(zip(keys_arr.tolist(), range(len(keys_arr)), strict=True))
        if len(last) < len(keys_arr):  # a key given twice: its last vector
            keep = sorted(last.values())
            keys_arr, vecs = keys_arr[keep], vecs[keep]
        with self._lock.write():
            self._remove(self._held(keys_arr))
            self._reserve(self._size + len(keys_arr))
            end = self._size + len(keys_arr)
            self._keys[self._size:end] = keys_arr
            self._vecs[self._size:end] = vecs
            order = np.argsort(keys_arr, kind="stable")
            at = np.searchsorted(self._sorted, keys_arr[order])
            self._sorted = np.insert(self._sorted, at, keys_arr[order])
            self._rows = np.insert(self._rows, at, self._size + order)
            self._size = end
            self._dirty = True

    def _reserve(self, size: int) -> None:
        """Room for `size` rows. Grown by an eighth (amortized copies stay linear): the
        first addition to a matrix opened from its file copies it to memory (moby: 20 MB),
        and a server's edits add a few rows at a time, so doubling would hold ~20 MB
        more than they need until the process ends."""
        if size <= len(self._keys):
            return
        capacity = max(size, len(self._keys) + max(len(self._keys) // 8, 1024))
        keys = np.zeros(capacity, dtype=np.uint64)
        vecs = np.zeros((capacity, self.dim), dtype=np.float16)
        keys[:self._size] = self._keys[:self._size]
        vecs[:self._size] = self._vecs[:self._size]
        self._keys, self._vecs = keys, vecs

    def _mapped(self) -> tuple[np.ndarray, np.ndarray]:
        """The keys and vectors of the saved file, memory-mapped copy-on-write."""
        return _mapped_member(self.path, "keys"), _mapped_member(self.path, "vectors")

    def _map_saved(self) -> None:
        """Read the vectors from the file just written, mapped as on open: the memory of the
        arrays they were written from (the mapped file's copy once rows were added) goes."""
        try:
            keys, vecs = self._mapped()
        except (OSError, ValueError, KeyError):
            return
        if len(keys) == self._size and vecs.shape == (self._size, self.dim):
            self._keys, self._vecs = keys, vecs

    def release_pages(self) -> bool:
        """Take the saved file's pages out of this process: each exact scan reads every row,
        so after the first searches the whole matrix is resident (moby's static tier: 19
        MB), and it stays counted in the process's memory after the searches stop. The
        pages are the file's, clean, so `MADV_DONTNEED` only unmaps them (they stay in the
        page cache, which the kernel may evict); the next scan maps them again. False, and
        nothing done, while rows changed since the last save or load: on this copy-on-write
        mapping that advice would throw the changed rows away."""
        with self._lock.write():
            if self._dirty:
                return False
            released = [release_mapped_array(array, unwritten_copy=True)
                        for array in (self._keys, self._vecs)]
            return any(released)

    def remove(self, keys: Any) -> int:
        with self._lock.write():
            return self._remove(self._held(as_keys(keys)))

    def _remove(self, keys: list[int]) -> int:
        """Remove `keys` (held, each once): the last row moves into each one's place."""
        if not keys:
            return 0
        places = self._find(np.asarray(keys, dtype=np.uint64))[1]
        for place in places.tolist():
            row, last = int(self._rows[place]), self._size - 1  # read now: a move changes it
            if row != last:
                moved = self._keys[last]
                self._keys[row] = moved
                self._vecs[row] = self._vecs[last]
                self._rows[np.searchsorted(self._sorted, moved)] = row
            self._size = last
        self._sorted = np.delete(self._sorted, places)
        self._rows = np.delete(self._rows, places)
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
            rows, sims = exact_scan(self._vecs[:self._size], query, min(k, self._size))
            return [(int(self._keys[row]), sim)
                    for row, sim in zip(rows.tolist(), sims.tolist(), strict=True)]

    def similarities(self, vector: Any, keys: Any) -> np.ndarray:
        """Cosine similarity of `vector` with the vectors of `keys` (NaN for a key without
        one): exact, for re-ranking a candidate list."""
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        keys_arr = as_keys(keys)
        out = np.full(len(keys_arr), np.nan, dtype=np.float32)
        with self._lock.read():
            rows = self._find(keys_arr)[0]
            at = np.flatnonzero(rows >= 0)
            if not len(at):
                return out
            vecs = self._vecs[rows[at]].astype(np.float32)
        norms = np.linalg.norm(vecs, axis=1) * max(float(np.linalg.norm(query)), 1e-12)
        out[at] = (vecs @ query) / np.maximum(norms, 1e-12)
        return out

    def save(self, generation: int) -> None:
        """Write the vectors and a sidecar stamped with `generation`. Unchanged since the last
        load or save (the store moved on without touching them: a full index saves at its
        end, then the summaries' writes move the generation), only the sidecar is written
        again: moby's 20 MB are not copied, hashed and written twice."""
        with self._lock.write():
            if not self._dirty and self._saved is not None and self.path.is_file():
                size, known = self._saved
            else:
                data = _aligned_npz(keys=self._keys[:self._size], vectors=self._vecs[:self._size])
                self.path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(self.path, data)
                size, known = len(data), digest(data)
                del data
                self._map_saved()
            meta = {"format": FLAT_FORMAT, "generation": generation, "dim": self.dim,
                    "count": self._size, "size": size, "digest": known}
            atomic_write_bytes(self.meta_path, json.dumps(meta, indent=2).encode())
            self._saved = (size, known)
            self._generation = generation
            self._dirty = False
