"""Static vectors computed in the parse workers, beside the chunks they embed.

The static tier (`indexer.embed.StaticEmbedder`) embeds a chunk in tens of microseconds, but
moby's 38.5k chunks still cost the indexing process seconds of CPU that the rest of the
build waits for. A parse worker has just read and chunked the text: it embeds its batch's
chunks itself (one `embed_documents` call per batch, distinct texts once), so the vectors are
computed in parallel with the writer and travel back in the records (`FileRecord.static`),
and the writer only copies them into the index.

A worker loads the tier once per process from the spec the writer's own tier gives
(`StaticJob`): the table is read from its cache (memory-mapped, shared with every other
process), never distilled there. A worker whose load fails or gives another table returns
no vectors, and the writer embeds those chunks itself, so the index is the same either way.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from indexer.embed import Embedder
    from indexer.parse import FileRecord

log = logging.getLogger(__name__)

# Vectors of texts a worker embedded recently, by text hash: identical chunks (moby's API
# docs repeat section after section) are embedded once. 16k f16 256-d rows: 8 MB a worker.
_RECENT = 16384


@dataclass(frozen=True, slots=True)
class StaticJob:
    """What a worker needs to embed chunks as the writer's static tier would: the spec that
    loads the tier (`indexer.embed.worker_spec`) and the model id it must have."""

    spec: str
    model_id: str


class _WorkerTier:
    """A worker process's static embedder (or why there is none) and its recent vectors."""

    def __init__(self, job: StaticJob) -> None:
        self.job = job
        self.embedder: Embedder | None = None
        self.recent: OrderedDict[str, np.ndarray] = OrderedDict()
        from indexer.embed import EmbedderError, load_cached_static_tier

        try:
            embedder = load_cached_static_tier(job.spec)
        except (EmbedderError, OSError) as exc:
            log.warning("static tier not loaded in a parse worker (%s); the writer embeds", exc)
            return
        if embedder.model_id != job.model_id:
            log.warning("a parse worker loaded static tier %s, not %s; the writer embeds",
                        embedder.model_id, job.model_id)
            return
        self.embedder = embedder

    def embed(self, todo: dict[str, tuple[str, str]]) -> None:
        """Embed the (header, text) of chunks by text hash, those not embedded recently."""
        import numpy as np

        from indexer.embed import embedded_text

        assert self.embedder is not None
        todo = {key: chunk for key, chunk in todo.items() if key not in self.recent}
        if todo:
            fresh = self.embedder.embed_documents(
                [embedded_text(h, t) for h, t in todo.values()]).astype(np.float16)
            self.recent.update(zip(todo, fresh, strict=True))

    def rows(self, keys: Sequence[str]) -> bytes:
        """The f16 rows of the texts `keys` (embedded by `embed`), in order, as bytes."""
        recent = self.recent
        for key in keys:
            recent.move_to_end(key)
        return b"".join([recent[key].tobytes() for key in keys])  # f16 rows, contiguous

    def trim(self) -> None:
        while len(self.recent) > _RECENT:
            self.recent.popitem(last=False)


_tier: _WorkerTier | None = None


def _worker_tier(job: StaticJob) -> _WorkerTier:
    global _tier  # one per worker process, loaded on its first batch
    if _tier is None or _tier.job != job:
        _tier = _WorkerTier(job)
    return _tier


def warm_static(job: StaticJob) -> None:
    """Load the worker's static tier now (while the writer still walks the tree)."""
    _worker_tier(job)


def embed_records(records: Sequence[FileRecord], job: StaticJob) -> None:
    """Give each record its chunks' static vectors (`FileRecord.static`), computed with the
    tier `job` names, distinct texts once; records stay without when the worker has no such
    tier."""
    tier = _worker_tier(job)
    if tier.embedder is None:
        return
    todo: dict[str, tuple[str, str]] = {}
    for rec in records:
        cols = rec.chunk_rows()  # Chunk field order: header 6, text 7
        if cols:
            todo.update(zip(rec.chunk_hashes, zip(cols[6], cols[7], strict=True), strict=True))
    tier.embed(todo)
    for rec in records:
        if rec.chunk_hashes:
            rec.static = (job.model_id, tier.rows(rec.chunk_hashes))
    tier.trim()
