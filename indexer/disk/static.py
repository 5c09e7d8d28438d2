"""The static tier's vector index: a static vector for every chunk, kept with the store.

Static vectors (`indexer.embed.StaticEmbedder`: tens of microseconds a chunk) are written by
the pipeline in the same batches as the store and the lexical index, into their own flat index
(`static.npz`, beside the model tier's `vectors.usearch`; `static.model` names the table
they came from): exact search over an f16 matrix, because building an HNSW graph while
indexing would cost more than the rest of the build (`indexer.vectors.FlatVectors`). They are cheap, so they are recomputed rather than cached: on open,
the index is checked against the store's chunk ids (a crash, an edit while no static tier
was attached, another table) and brought in line by embedding what is missing and removing
what is gone. Saved atomically with the store generation.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from indexer.embed import Embedder, embedded_text
from indexer.store import Store
from indexer.vectors import FlatVectors

log = logging.getLogger(__name__)

STATIC_DTYPE = "f16"  # FlatVectors' storage
_SYNC_BATCH = 4096
# Vectors of recently embedded texts, by text hash: identical chunks (moby's API docs repeat
# section after section: 16,955 text chunks, 5,996 distinct) are embedded once. 16k f16
# 256-d vectors: 8 MB.
_RECENT = 16384


class StaticTier:
    """A static embedder and the vector index of its chunk vectors."""

    def __init__(self, embedder: Embedder, vectors: FlatVectors) -> None:
        self.embedder = embedder
        self.vectors = vectors
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()

    @classmethod
    def open(cls, path: Path, embedder: Embedder, store: Store) -> StaticTier:
        """The saved index at `path` when it was made by `embedder`'s table, else a new one;
        then brought in line with `store` (see the module docstring)."""
        model_file = path.with_suffix(".model")
        # bytes that are not UTF-8 name no table, as other garbage: a new index (not a crash)
        recorded = model_file.read_text(errors="replace").strip() if model_file.exists() else ""
        if recorded == embedder.model_id:
            vectors = FlatVectors.open(path, embedder.dim)
        else:
            vectors = FlatVectors(path, embedder.dim)
        tier = cls(embedder, vectors)
        if tier.sync(store) or vectors.generation != store.generation:
            path.parent.mkdir(parents=True, exist_ok=True)
            tier.save(store.generation)
            model_file.write_text(embedder.model_id)
        return tier

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    @property
    def dirty(self) -> bool:
        return self.vectors.dirty

    def __len__(self) -> int:
        return len(self.vectors)

    def add(self, chunk_ids: Sequence[int], headers: Sequence[str],
            texts: Sequence[str], hashes: Sequence[str] | None = None) -> None:
        """Embed and add the chunks `chunk_ids` (their headers and texts, in order; with
        their text `hashes`, a text seen recently is not embedded again)."""
        if not chunk_ids:
            return
        if hashes is None:
            vecs = self.embedder.embed_documents(
                [embedded_text(h, t) for h, t in zip(headers, texts, strict=True)])
        else:
            vecs = self._embed_hashed(headers, texts, hashes)
        self.vectors.add(np.asarray(chunk_ids, dtype=np.uint64), vecs)

    def add_vectors(self, chunk_ids: Sequence[int], vectors: bytes) -> None:
        """Add the chunks `chunk_ids` with vectors this tier's embedder computed elsewhere
        (a parse worker): their float16 rows, in order, as bytes."""
        vecs = np.frombuffer(vectors, dtype=np.float16).reshape(len(chunk_ids), self.embedder.dim)
        self.vectors.add(np.asarray(chunk_ids, dtype=np.uint64), vecs)

    def _embed_hashed(self, headers: Sequence[str], texts: Sequence[str],
                      hashes: Sequence[str]) -> np.ndarray:
        recent = self._recent
        todo = {h: i for i, h in enumerate(hashes) if h not in recent}
        if todo:
            rows = list(todo.values())
            fresh = self.embedder.embed_documents(
                [embedded_text(headers[i], texts[i]) for i in rows])
            for h, vec in zip(todo, fresh, strict=True):
                recent[h] = vec.astype(np.float16)
        out = np.stack([recent[h] for h in hashes]).astype(np.float32)
        for h in hashes:
            recent.move_to_end(h)
        while len(recent) > _RECENT:
            recent.popitem(last=False)
        return out

    def remove(self, chunk_ids: Sequence[int]) -> None:
        if len(chunk_ids):
            self.vectors.remove(chunk_ids)

    def sync(self, store: Store) -> int:
        """Remove vectors of chunks the store no longer has and embed the chunks without
        one; returns how many vectors changed."""
        ids = np.array([r[0] for r in store.query("SELECT chunk_id FROM chunks")],
                       dtype=np.uint64)
        keys = self.vectors.keys()
        gone = np.setdiff1d(keys, ids, assume_unique=True)
        missing = np.setdiff1d(ids, keys, assume_unique=True)
        if len(gone):
            self.vectors.remove(gone)
        for start in range(0, len(missing), _SYNC_BATCH):
            part = [int(i) for i in missing[start:start + _SYNC_BATCH]]
            rows = store.query("SELECT chunk_id, header, text FROM chunks "
                               "WHERE list_contains(?, chunk_id)", [part])
            self.add([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
        if len(gone) or len(missing):
            log.info("static vectors brought in line with the store: %d added, %d removed",
                     len(missing), len(gone))
        return len(gone) + len(missing)

    def search(self, text: str, k: int) -> list[int]:
        """Chunk ids nearest to `text` in the static space, best first."""
        return [key for key, _ in self.scored(text, k)]

    def scored(self, text: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) nearest to `text` in the static space, best first."""
        if len(self.vectors) == 0:
            return []
        return self.vectors.search(self.embedder.embed_query(text), k)

    def rerank(self, text: str, ids: Sequence[int]) -> list[int]:
        """The chunks `ids` that have a static vector, most similar to `text` first."""
        if not ids or len(self.vectors) == 0:
            return []
        sims = self.vectors.similarities(self.embedder.embed_query(text), ids)
        keep = np.flatnonzero(~np.isnan(sims))
        order = keep[np.argsort(-sims[keep], kind="stable")]
        return [int(ids[i]) for i in order]

    def release_caches(self) -> None:
        """Let the embedder forget what it cached for the last batch (its word vectors)."""
        release = getattr(self.embedder, "release_words", None)
        if release is not None:
            release()

    def release_idle(self) -> bool:
        """What a settled server gives back: the saved vectors' pages the scans read
        (`FlatVectors.release_pages`; the return value), what the embedder built to match
        words (its vocabulary's word pieces and the word vectors it cached: the queries' and
        the block members' that search narrows by closeness), built again when words need
        it, and the pages of its mapped table that words read."""
        for name in ("release_words", "release_vocab", "release_pages"):
            release = getattr(self.embedder, name, None)
            if release is not None:
                release()
        return self.vectors.release_pages()

    def save(self, generation: int) -> None:
        self.vectors.save(generation)
